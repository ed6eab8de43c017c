"""The ``data_summary`` study: load ``config.data``, check leakage, print and save the summary."""

from __future__ import annotations

import os

from ecgq.configs import mount
from ecgq.data import check_data_config, data_docs, with_dataset_defaults
from ecgq.studies.registry import STUDIES, TOP_LEVEL_DOCS, StudySpec


def run(config, workdir: str) -> dict:
    """Print the summary of ``config.data``; write ``data_summary.json`` and ``label_map.json``."""
    from ecgq.atomic import write_json_atomic
    from ecgq.data import load_splits
    from ecgq.data.summary import check_disjoint, format_text, summarize

    splits = load_splits(config.data)
    check_disjoint(splits)
    summary = summarize(splits)
    print(format_text(summary))
    os.makedirs(workdir, exist_ok=True)
    write_json_atomic(os.path.join(workdir, "data_summary.json"), summary)
    label_map = {name: index for index, name in enumerate(splits.info.class_names)}
    write_json_atomic(os.path.join(workdir, "label_map.json"), label_map)
    return summary


def _complete(base, config):
    config = config.copy_and_resolve_references()
    with config.unlocked():
        config.data = with_dataset_defaults(base.data, config.data)
    return config


STUDIES.register(StudySpec(
    name="data_summary",
    description="Per-split counts of a dataset, with the patient-disjointness check",
    run=run,
    docs=lambda config: {**TOP_LEVEL_DOCS, **mount("data", data_docs())},
    check=lambda config: check_data_config(config.data, "data"),
    complete=_complete,
))
