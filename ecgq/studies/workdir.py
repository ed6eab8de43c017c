"""The study's output folder: writable before anything runs, and never shared by two studies.

A rerun on the same workdir resumes (or re-reports) the study that is there, so the folder must
hold the same study: ``guard_config`` compares the saved ``config.json`` with the current config on
every field that changes results, and names the fields that differ. Fields that only change how a
run looks or how fast it goes (progress bars, plots, latency batch sizes, cache folders, chunking)
may change between runs.
"""

from __future__ import annotations

import json
import os
import tempfile

import ml_collections

from ecgq.atomic import write_json_atomic
from ecgq.configs import leaves
from ecgq.errors import UserError

# Leaf names / path suffixes that never change a study's results.
PRESENTATION_FIELDS = ("progress", "steps_per_call", "eval_batch_size", "max_members_per_chunk",
                       "memory_budget_gb", "checkpoint_every_epochs", "max_to_keep", "cache",
                       "cache_dir", "download", "download_url", "eval.plots", "eval.profile", "eval.energy",
                       "eval.energy_min_seconds", "eval.latency_batch_sizes", "study_name",
                       # the device grid: results agree to float rounding, and a run resumes on another
                       "mesh.members", "mesh.data")


def check_writable(workdir: str) -> None:
    """Create ``workdir`` if needed and prove a file can be written there; one-line error if not."""
    try:
        os.makedirs(workdir, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=workdir, prefix=".write-test-"):
            pass
    except OSError as error:
        raise UserError(f"--workdir={workdir}: cannot write there ({error.strerror or error}); "
                        "choose a writable folder.") from None


def _result_fields(config_json: dict) -> dict[str, object]:
    def keep(path: str) -> bool:
        return not any(path == f or path.endswith("." + f) for f in PRESENTATION_FIELDS)

    flat = dict(leaves(ml_collections.ConfigDict(config_json)))
    return {path: value for path, value in flat.items() if keep(path)}


def _is_off(value) -> bool:
    """A field added to the code after a workdir was written keeps the old behaviour at its off value
    ('' / False / 0 / empty), so its absence from the saved config is no difference (an older
    workdir can still be re-run, e.g. to write the files newer code adds)."""
    return value in ("", False, 0, None) or value == [] or value == ()


def guard_config(config: ml_collections.ConfigDict, workdir: str) -> None:
    """Refuse a workdir holding another study; otherwise (re)write ``config.json``."""
    path = os.path.join(workdir, "config.json")
    current = json.loads(config.to_json_best_effort())
    if os.path.exists(path):
        with open(path) as handle:
            previous = json.load(handle)
        old, new = _result_fields(previous), _result_fields(current)
        differ = sorted(k for k in old.keys() | new.keys() if old.get(k, "<absent>") != new.get(k, "<absent>")
                        and not (k not in old and _is_off(new[k])))
        if differ:
            shown = ", ".join(f"{k} ({old.get(k, '<absent>')!r} -> {new.get(k, '<absent>')!r})" for k in differ[:4])
            more = f" and {len(differ) - 4} more" if len(differ) > 4 else ""
            raise UserError(f"--workdir={workdir} holds a study run with a different config: {shown}{more}; "
                            "use a new --workdir, or delete this one to start over.")
    write_json_atomic(path, current)
