"""The one exception type of the data layer.

Every bad-input path (missing record, missing lead, NaN/flat signal, bad labels CSV, unknown
dataset/task, empty class in a split) raises ``DataError`` with a message that names the offending
item and says how to fix it. Subclassing ``ValueError`` keeps ``except ValueError`` callers working.
"""

from __future__ import annotations


class DataError(ValueError):
    """Bad or missing input data; the message names the item and the fix."""


class RecordError(DataError):
    """A problem confined to one record: skippable when ``data.skip_bad_records=True``."""

    def __init__(self, record: str, reason: str, message: str):
        super().__init__(message)
        self.record = record
        self.reason = reason  # short key used in ``DatasetInfo.dropped``
