"""Tiny distillation configs shared by the study tests (CI has 2 cores: few windows, one epoch).

A uniquely named module (not conftest) so that ``from study_helpers import ...`` cannot pick up
another folder's conftest."""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load_experiment(spec: str):
    sys.path.insert(0, ROOT)
    import launch

    sys.path.pop(0)
    return launch._load_config(os.path.join(ROOT, "experiments", spec))


def shrink(config, students=None, n_seeds: int = 2):
    """One epoch of everything on small batches, no energy readings; ``students`` replaces the list."""
    if students is not None:
        config.student_names = tuple(students)
    config.teacher.train.epochs = 1
    config.teacher.train.batch_size = 64
    config.teacher.train.progress = False
    config.teacher.train.eval_batch_size = 64  # every split in 64-row batches: one eval compile per model
    for name in config.student_names:
        t = config.students[name].train
        t.epochs, t.n_seeds, t.batch_size, t.progress = 1, n_seeds, 64, False
        t.eval_batch_size = 64
        if "pretrain" in config.students[name]:
            config.students[name].pretrain.epochs = 1
    config.eval.latency_batch_sizes = (1, 8)
    config.eval.energy = False
    config.eval.nisq_shots, config.eval.nisq_depolarizing = (), ()  # one test turns them on
    return config
