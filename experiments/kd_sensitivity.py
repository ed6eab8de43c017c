"""KD sensitivity: T in {1, 2, 4, 8} x alpha in {0, 0.25, 0.5, 0.75, 1.0} x 5 seeds for each student,
each student's grid as ONE vmapped program (100 members, chunked to fit memory), with heatmaps.

The dataset is chosen with ``--config.data.name`` (default: MIT-BIH binary, inter-patient). alpha = 0
is the no-KD baseline inside the grid, so no separate no-KD run is made. Presets: ``:quick``
(synthetic data, a 2 x 2 grid, 2 seeds, 2 epochs) and ``:synthetic`` (full grid on synthetic data).
"""

from __future__ import annotations


def get_config(arg: str | None = None):
    from ecgq.studies.distill_config import (
        distill_study_config,
        set_student_pretraining,
        set_student_training,
    )

    dataset = "synthetic" if arg in ("quick", "synthetic") else "mitbih"
    c = distill_study_config(dataset, n_seeds=5)
    c.study_name = f"KD sensitivity ({dataset})"
    if dataset == "mitbih":
        c.data.task = "binary"
        c.subsample.train = 12000
    c.distill.temperatures = (1.0, 2.0, 4.0, 8.0)
    c.distill.alphas = (0.0, 0.25, 0.5, 0.75, 1.0)
    c.distill.include_no_kd = False
    c.teacher.train.epochs = 8
    set_student_training(c, epochs=6, restart_epochs=6.0, early_stopping_patience=3)
    if arg == "quick":
        c.data.synthetic.n_train, c.data.synthetic.n_val, c.data.synthetic.n_test = 512, 128, 128
        c.distill.temperatures = (1.0, 4.0)
        c.distill.alphas = (0.0, 0.5)
        c.teacher.train.epochs = 3
        set_student_training(c, epochs=2, n_seeds=2)
        set_student_pretraining(c, epochs=1)
        c.eval.latency_batch_sizes = (1, 32)
    elif arg not in (None, "synthetic"):
        raise ValueError(f"unknown preset {arg!r} for kd_sensitivity.py; use ':quick', ':synthetic' or nothing")
    return c
