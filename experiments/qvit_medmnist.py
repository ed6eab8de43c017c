"""Quantum vision transformers with knowledge distillation on MedMNIST (Boucher & Mazomenos, arXiv
2503.07294; issue 12).

Per dataset (``data.subset`` in ``data.data_dir``, official splits): a small classical ResNet
teacher (``resnet2d``) trained first, then ``vit`` / ``qvit`` (one head) and ``vit_2h`` / ``qvit_2h``
(two heads), each from scratch (no KD) and with KD from the teacher (the engine's KD loss, T = 4,
alpha = 0.5, from the first epoch: one phase, not a KD pre-training followed by a separate
fine-tuning), 5 seeds vmapped. ``vit`` is matched to ``qvit``'s parameter count. The report gives
ROC AUC (macro for multi-class) and accuracy with 95% CIs over seeds on test, parameters
(classical / quantum), XLA GFLOPs per image, seconds per epoch and the circuits' share of QViT's
training step (``qvit_table.md``, ``timing.json``, plus the engine's ``results.*``).

Presets: ``:quick`` (CI smoke run: 128 training images, 2 epochs, 2 seeds, 4-qubit circuits) and
``:cpu`` (the whole official splits, 5 seeds, 10 teacher / 20 student epochs, 4-qubit circuits); the
default is 8 qubits and 20 / 30 epochs.

    python launch.py --config=experiments/qvit_medmnist.py:quick --config.data.subset=breastmnist \
        --config.data.data_dir=$ECGQ_DATA/medmnist --workdir=runs/qvit_breast

Measured 2026-12-06 on 2 CPU cores shared with other jobs: ``:cpu`` on BreastMNIST in 306 s (10
members per student, batch 32, 17 steps per epoch): 4-qubit qvit 0.23 s per epoch against vit's
0.11 (circuits 59% of the step; two heads 0.56 against 0.14, circuits 79%). The default 8-qubit
preset took 78 s per qvit epoch with the gate-by-gate simulator of issue 12; with the few-pass
simulator of issue 14 (``ecgq/quantum/gate_passes.py``) it runs on the same CPU: qvit 1.26 s per
epoch, qvit_2h 1.68 s (circuits 90% / 92% of the step), the whole preset in 5.3 minutes with
``--config.eval.nisq_depolarizing="()"``. The depolarising columns simulate density matrices
(4**8 entries for every token of every window and circuit map): on this CPU they did not finish one
8-qubit student in 6 minutes with 64 windows, so run them on an accelerator or with few windows.
"""

from __future__ import annotations

STUDENTS = ("vit", "qvit", "vit_2h", "qvit_2h")


def get_config(arg: str | None = None):
    from ecgq.studies.distill_config import distill_study_config, set_student_training
    from ecgq.studies.qvit import timing_config

    c = distill_study_config("medmnist", student_names=STUDENTS, teacher_name="resnet2d", n_seeds=5)
    c.study = "qvit"
    c.study_name = "qvit_medmnist"
    c.data.subset = "breastmnist"
    c.timing = timing_config()
    c.teacher.train.update({"epochs": 20, "restart_epochs": 20.0, "batch_size": 64, "learning_rate": 3e-3})
    set_student_training(c, epochs=30, restart_epochs=30.0, batch_size=32, member_axis="vmap",
                         early_stopping_patience=0, checkpoint_every_epochs=10)
    c.distill.temperatures = (4.0,)
    c.distill.alphas = (0.5,)
    c.eval.energy = False
    c.eval.latency_batch_sizes = (1, 32)
    # Depolarising noise is simulated on density matrices (4**qubits entries per circuit row), and a
    # window of a QViT runs every token through 3 x heads circuit maps: 256 windows at 8 qubits held
    # 13 GB. 16 windows per batch keep a two-head model near 1 GB (the batch never changes a result).
    c.eval.nisq_batch_size = 16
    if arg in ("quick", "cpu"):
        # 4 qubits per circuit (vit matched to that): an 8-qubit map costs ~130x more to simulate on a CPU.
        for name in STUDENTS:
            c.students[name].hidden_size = 4
    if arg == "cpu":
        c.teacher.train.update({"epochs": 10, "restart_epochs": 10.0})
        set_student_training(c, epochs=20, restart_epochs=20.0)
    elif arg == "quick":
        c.subsample.train, c.subsample.val, c.subsample.test = 128, 64, 128
        c.teacher.train.update({"epochs": 2, "restart_epochs": 2.0})
        set_student_training(c, epochs=2, restart_epochs=2.0, n_seeds=2, checkpoint_every_epochs=2)
        c.eval.plots = False
        c.timing.steps, c.timing.repeats = 2, 1
    elif arg:
        raise ValueError(f"unknown preset {arg!r} for qvit_medmnist.py; use ':quick', ':cpu' or nothing")
    return c
