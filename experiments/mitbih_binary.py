"""MIT-BIH inter-patient binary study (normal vs abnormal beats): DS1 records train (whole records
held out for validation), DS2 records test (de Chazal protocol), 256-sample single-lead (MLII) beats.
ecgfounder_small teacher, resnet1d / cnn1d / ae_vqc students with and without KD, 5 seeds vmapped.

Presets: ``:quick`` (smoke run, < 10 min on 2 CPU cores: 2 seeds, few epochs, a class-stratified
subsample of DS1 for training; DS2 test metrics on every DS2 beat). The full default trains on a
class-stratified 12k-beat subsample of the DS1 training records (the time budget of 2 CPU cores);
set ``--config.subsample.train=0`` to train on every DS1 beat.
"""

from __future__ import annotations


def get_config(arg: str | None = None):
    from ecgq.studies.distill_config import distill_study_config, set_student_training

    c = distill_study_config("mitbih", n_seeds=5)
    c.study_name = "MIT-BIH inter-patient binary (DS1 -> DS2)"
    c.data.task = "binary"
    c.subsample.train = 12000
    c.teacher.train.epochs = 10
    c.teacher.train.restart_epochs = 10.0
    c.teacher.train.early_stopping_patience = 4
    # DS1 -> DS2 validation peaks within a few epochs (then the students overfit DS1 patients)
    set_student_training(c, epochs=5, restart_epochs=5.0, early_stopping_patience=2, batch_size=128)
    c.students.ae_vqc.pretrain.epochs = 4
    c.distill.temperatures = (4.0,)
    c.distill.alphas = (0.5,)
    if arg == "quick":
        c.subsample.train = 3000
        c.subsample.val = 3000
        c.teacher.train.epochs = 4
        c.teacher.train.restart_epochs = 4.0
        set_student_training(c, epochs=3, restart_epochs=3.0, n_seeds=2)
        c.students.ae_vqc.pretrain.epochs = 2
        c.eval.latency_batch_sizes = (1, 256)
        c.eval.energy_min_seconds = 0.5
    elif arg:
        raise ValueError(f"unknown preset {arg!r} for mitbih_binary.py; use ':quick' or nothing")
    return c
