"""Study runners (distillation, benchmarks, data summary), one module each, registered in ``STUDIES``.

``prepare(base, config)`` completes and checks a config in seconds; ``run(config, workdir)`` runs
it. ``launch.py`` calls both and prints any ``ecgq.errors.UserError`` as one line (exit status 2).
Runner modules import their heavy dependencies inside ``run`` so that listing or checking a study
never pays for the training stack.
"""

from __future__ import annotations

import os

import ml_collections

from ecgq.studies.registry import STUDIES, StudySpec
from ecgq.studies.workdir import check_writable


def study_of(config: ml_collections.ConfigDict) -> StudySpec:
    return STUDIES.get(config.get("study", ""), "study")


def prepare(base: ml_collections.ConfigDict | None, config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """``config`` completed (defaults of switched datasets/models) and checked; raises UserError."""
    spec = study_of(config)
    if spec.complete is not None and base is not None:
        config = spec.complete(base, config)
    if spec.check is not None:
        spec.check(config)
    return config


def run(config: ml_collections.ConfigDict, workdir: str):
    """Run ``config`` with all outputs under ``workdir`` (created if missing, must be writable)."""
    spec = study_of(config)
    workdir = os.path.abspath(workdir)
    check_writable(workdir)
    return spec.run(config, workdir)


__all__ = ["STUDIES", "StudySpec", "prepare", "run", "study_of"]
