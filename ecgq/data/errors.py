"""The one exception type of the data layer, and the bookkeeping of skipped records.

Every bad-input path (missing record, missing lead, NaN/flat signal, bad labels CSV, unknown
dataset/task, empty class in a split) raises ``DataError`` with a message that names the offending
item and says how to fix it. It is an ``ecgq.errors.UserError`` (so a ``ValueError`` too): the
launcher and CLIs print it as one line with exit status 2.

A ``RecordError`` is confined to one record; with ``skip_bad_records`` the loaders skip the record
instead, count it in ``DatasetInfo.dropped`` (``"skipped_record:<reason>"`` -> count) and name it in
``DatasetInfo.skipped`` (``<reason>`` -> record ids), through ``note_skipped`` and ``warn_skipped``.
"""

from __future__ import annotations

import logging

from ecgq.errors import UserError

log = logging.getLogger("ecgq.data")

# The one wording of "how to skip bad records", for every message that offers it: the field is
# ``data.skip_bad_records`` in launch.py configs and ``--skip_bad_records`` on the data CLI.
SKIP_HINT = ("set skip_bad_records (launch.py: --config.data.skip_bad_records=True; "
             "python -m ecgq.data: --skip_bad_records)")

# How many skipped record ids a warning or the text summary names before saying "+N more".
SKIPPED_SHOWN = 10


class DataError(UserError):
    """Bad or missing input data; the message names the item and the fix."""


class RecordError(DataError):
    """A problem confined to one record: skippable when ``data.skip_bad_records=True``."""

    def __init__(self, record: str, reason: str, message: str):
        super().__init__(message)
        self.record = record
        self.reason = reason  # short key used in ``DatasetInfo.dropped`` / ``DatasetInfo.skipped``


def note_skipped(dropped: dict[str, int], skipped: dict[str, list[str]], record: str, reason: str) -> None:
    """Count one skipped ``record`` in one split's ``dropped`` and name it in its ``skipped``.

    Invariant: ``dropped[f"skipped_record:{reason}"] == len(skipped[reason])``.
    """
    key = f"skipped_record:{reason}"
    dropped[key] = dropped.get(key, 0) + 1
    skipped.setdefault(reason, []).append(str(record))


def describe_skipped(by_reason: dict[str, list[str]], limit: int = SKIPPED_SHOWN) -> str:
    """``"missing_lead: 100; missing_record: 103, 105 (+19 more)"``: at most ``limit`` ids in all."""
    parts, shown, total = [], 0, sum(len(ids) for ids in by_reason.values())
    for reason, ids in by_reason.items():
        take = list(ids[: max(0, limit - shown)])
        shown += len(take)
        if take:
            parts.append(f"{reason}: {', '.join(take)}")
        elif ids:
            parts.append(f"{reason}: ...")
    text = "; ".join(parts)
    return text + (f" (+{total - shown} more)" if total > shown else "")


def warn_skipped(dataset: str, skipped: dict[str, dict[str, list[str]]], context: str = "") -> None:
    """One warning per split that skipped records, naming up to ``SKIPPED_SHOWN`` of them."""
    for split, by_reason in skipped.items():
        n = sum(len(ids) for ids in by_reason.values())
        if n:
            log.warning("%s %s: skipped %d bad record(s)%s: %s (full list in DatasetInfo.skipped "
                        "and the data summary)", dataset, split, n, context, describe_skipped(by_reason))
