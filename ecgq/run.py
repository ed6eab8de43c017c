"""Dispatch a study config to its runner.

``config.study`` names the runner; runners are imported lazily so that a data summary never pays
for importing the quantum or training stacks (and vice versa).
"""

from __future__ import annotations

import importlib
import os

import ml_collections

# study name -> "module:function"; each function is run(config, workdir) -> None.
STUDIES: dict[str, str] = {
    "data_summary": "ecgq.data.study:run",
    "bench_quantum": "ecgq.quantum.bench:run",
    "distill": "ecgq.pipeline:run",
    "bench_multiseed": "ecgq.train.bench_multiseed:run",
}

# Documentation of the fields every study config carries at its top level.
TOP_LEVEL_DOCS: dict[str, str] = {
    "study": f"Which runner executes this config: one of {sorted(STUDIES)}.",
    "seed": "Master seed: every PRNG key of the study is derived from it.",
}


def resolve_runner(study: str):
    """Return the ``run(config, workdir)`` function of a study, or fail naming the valid ones."""
    if study not in STUDIES:
        raise ValueError(
            f"Unknown study {study!r} in config.study; choose one of {sorted(STUDIES)}."
        )
    module_name, function_name = STUDIES[study].split(":")
    return getattr(importlib.import_module(module_name), function_name)


def run(config: ml_collections.ConfigDict, workdir: str) -> None:
    """Run ``config`` with all outputs under ``workdir`` (created if missing)."""
    runner = resolve_runner(config.study)
    os.makedirs(workdir, exist_ok=True)
    runner(config, workdir)
