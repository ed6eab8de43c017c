"""Per-split summary of a dataset (the ``python -m ecgq.data`` JSON) and the leakage check."""

from __future__ import annotations

import numpy as np

from ecgq.data.errors import DataError, describe_skipped
from ecgq.data.types import Splits


def class_counts(split, info) -> dict[str, int]:
    """Windows per class name (multi-hot: windows carrying each label)."""
    y = np.asarray(split.y)
    counts = y.sum(axis=0) if info.multilabel else np.bincount(y.astype(int), minlength=len(info.class_names))
    return {name: int(counts[i]) if len(y) else 0 for i, name in enumerate(info.class_names)}


def summarize(splits: Splits) -> dict:
    """``{"dataset", "task", "splits": {name: {records, patients, class_counts, window_shape,
    sampling_rate, dropped, skipped}}}``; ``skipped`` is reason -> ids of the records skipped under
    ``skip_bad_records`` (every one of them; the text rendering shortens the list)."""
    info = splits.info
    out = {"dataset": info.name, "task": info.task, "splits": {}}
    for name, split in splits.items():
        out["splits"][name] = {
            "records": int(len(np.unique(split.record))),
            "patients": int(len(np.unique(split.patient))),
            "class_counts": class_counts(split, info),
            "window_shape": [int(d) for d in split.x.shape[1:]],
            "sampling_rate": float(info.sampling_rate),
            "dropped": {k: int(v) for k, v in info.dropped.get(name, {}).items()},
            "skipped": {k: [str(r) for r in v] for k, v in info.skipped.get(name, {}).items() if v},
        }
    return out


def check_disjoint(splits: Splits) -> None:
    """Raise DataError if any patient (== record where patients are unknown) is in two splits."""
    seen: dict[str, str] = {}
    for name, split in splits.items():
        for patient in map(str, np.unique(split.patient)):
            if patient in seen and seen[patient] != name:
                raise DataError(f"Leakage: patient {patient!r} of {splits.info.name} is in both "
                                f"{seen[patient]!r} and {name!r}; splits must be patient-disjoint "
                                "(intra_patient=True is leaky by design).")
            seen[patient] = name


def format_text(summary: dict) -> str:
    """Human-readable rendering of ``summarize``'s dict."""
    lines = [f"dataset={summary['dataset']} task={summary['task']}"]
    for name, s in summary["splits"].items():
        lines.append(f"  {name}: records={s['records']} patients={s['patients']} "
                     f"window_shape={tuple(s['window_shape'])} sampling_rate={s['sampling_rate']:g} Hz")
        lines.append("    class counts: " + ", ".join(f"{k}={v}" for k, v in s["class_counts"].items()))
        lines.append("    dropped: " + (", ".join(f"{k}={v}" for k, v in s["dropped"].items()) or "none"))
        if s.get("skipped"):
            lines.append("    skipped records: " + describe_skipped(s["skipped"]))
    return "\n".join(lines)
