"""The ``data_summary`` study: load ``config.data``, check leakage, print and save the summary."""

from __future__ import annotations

import os

from ecgq.atomic import write_json_atomic
from ecgq.data.registry import load_splits
from ecgq.data.summary import check_disjoint, format_text, summarize


def run(config, workdir: str) -> None:
    """Print the summary of ``config.data``; write ``data_summary.json`` and ``label_map.json``."""
    splits = load_splits(config.data)
    check_disjoint(splits)
    summary = summarize(splits)
    print(format_text(summary))
    os.makedirs(workdir, exist_ok=True)
    write_json_atomic(os.path.join(workdir, "data_summary.json"), summary)
    label_map = {name: index for index, name in enumerate(splits.info.class_names)}
    write_json_atomic(os.path.join(workdir, "label_map.json"), label_map)
