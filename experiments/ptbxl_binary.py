"""PTB-XL NORM vs abnormal: strat_fold 1-8 train, 9 validation, 10 test. The teacher sees each
record as ECGFounder was trained (12 leads, 500 Hz, 10 s); the students see 256-sample single-lead
(II) crops at 100 Hz and are scored per record (mean crop probability). Students receive the
teacher's mean logit of the record each crop comes from.

Presets: ``:quick`` (smoke run: 2 seeds, few epochs). Point ``--config.data.data_dir`` at PTB-XL
(default: $ECGQ_DATA/ptbxl_subset500; the teacher's view reads the same folder), and
``--config.teacher.checkpoint`` at a released ECGFounder checkpoint to fine-tune it. The teacher
reads every lead of its view in ECGFounder's order (I..V6).
"""

from __future__ import annotations


def set_teacher_view(c, task: str = "binary") -> None:
    """The teacher reads each record as ECGFounder was trained: 12 leads, 500 Hz, 10 s, its own
    z-scoring (shared by every PTB-XL study preset)."""
    from ecgq.data import data_config

    c.teacher_data = data_config("ptbxl")
    c.teacher_data.task = task
    c.teacher_data.leads = ""  # all twelve
    c.teacher_data.sampling_rate = 500
    c.teacher_data.crop_length = 0
    c.teacher_data.normalize = "none"  # the teacher adapter z-scores each record as ECGFounder does
    c.teacher.input_length = 5000
    c.teacher.sampling_rate = 500.0
    c.teacher.train.batch_size = 16
    c.teacher.train.eval_batch_size = 32
    c.teacher.train.epochs = 10


def get_config(arg: str | None = None):
    from ecgq.studies.distill_config import (
        distill_study_config,
        set_student_pretraining,
        set_student_training,
    )

    c = distill_study_config("ptbxl", n_seeds=5)
    c.study_name = "PTB-XL NORM vs abnormal (folds 1-8 / 9 / 10)"
    c.data.task = "binary"
    c.data.leads = "II"
    c.data.sampling_rate = 100
    c.data.crop_length = 256
    c.data.crop_stride = 256
    set_teacher_view(c)
    c.eval.record_level = True
    set_student_training(c, epochs=15, restart_epochs=15.0, batch_size=64)
    if arg == "quick":
        c.teacher.train.epochs = 2
        set_student_training(c, epochs=2, n_seeds=2)
        set_student_pretraining(c, epochs=1)
        c.eval.latency_batch_sizes = (1, 32)
    elif arg:
        raise ValueError(f"unknown preset {arg!r} for ptbxl_binary.py; use ':quick' or nothing")
    return c
