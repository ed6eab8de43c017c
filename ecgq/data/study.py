"""The ``data_summary`` study: load ``config.data``, check leakage, print and save the summary."""

from __future__ import annotations

import json
import os

from ecgq.data.registry import load_splits
from ecgq.data.summary import check_disjoint, format_text, summarize


def run(config, workdir: str) -> None:
    """Print the summary of ``config.data`` and write ``workdir/data_summary.json``."""
    splits = load_splits(config.data)
    check_disjoint(splits)
    summary = summarize(splits)
    print(format_text(summary))
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, "data_summary.json")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(summary, f, indent=1)
    os.replace(tmp, path)
