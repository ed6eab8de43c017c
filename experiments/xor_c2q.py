"""Classical-to-quantum KD on the extended multi-class XOR problem (Piperno et al. 2024, issue 10).

An MLP teacher (``xor_teacher``, 1,284 parameters) distilled into a classical student (``xor_mlp``,
197), two hybrid circuit students of about 74 parameters (``xor_vqc_universal``: universal SU(4)
blocks, 78; ``xor_vqc_selective``: 4 qubits, 2 measured, 72) and their classical control of the same size
(``xor_mlp_small``, 77; Bowles, Ahmed & Schuld 2024), each with and without KD, 10 seeds each. The
report gives macro F1, accuracy and balanced accuracy (mean ± 95% CI over seeds), the paired
KD-vs-no-KD differences with p-values, and the decision regions of the teacher and students
(``decision_regions.png``; 2-D points only). Under 10 minutes on 2 CPU cores.

Presets: ``:quick`` (a smoke run of seconds: few points, epochs and seeds) and ``:sweep`` (every
student over T in {1, 2, 4, 8} x alpha in {0.25, 0.5, 0.75, 1.0}, with KD heatmaps; the KD setting
the paired comparison uses is chosen on validation).

Every field is documented by its layer (``launch.py --config=experiments/xor_c2q.py --helpfull``).
"""

from __future__ import annotations

STUDENTS = ("xor_mlp", "xor_vqc_universal", "xor_vqc_selective", "xor_mlp_small")


def get_config(arg: str | None = None):
    from ecgq.studies.distill_config import distill_study_config, set_student_training

    c = distill_study_config("xor", student_names=STUDENTS, teacher_name="xor_teacher", n_seeds=10)
    c.study_name = "xor_c2q"
    c.data.xor.n_train, c.data.xor.n_val, c.data.xor.n_test = 2000, 500, 1000
    c.teacher.train.update({"epochs": 100, "restart_epochs": 100.0, "learning_rate": 1e-2, "batch_size": 64,
                            "early_stopping_patience": 0, "checkpoint_every_epochs": 25})
    # Tiny models: one vmapped program of all members beats a loop of single-member steps (whose
    # dispatches would cost more than the arithmetic), on CPU too. An Orbax save costs more than a
    # whole epoch of these models, so save every 10 epochs (and at the end) rather than every one.
    set_student_training(c, member_axis="vmap", eval_batch_size=1024, checkpoint_every_epochs=10)
    c.distill.temperatures = (4.0,)
    c.distill.alphas = (0.5,)
    c.eval.latency_batch_sizes = (1, 256)
    c.eval.energy_min_seconds = 0.5
    if arg == "quick":
        c.eval.energy = False
        c.data.xor.n_train, c.data.xor.n_val, c.data.xor.n_test = 256, 128, 128
        c.teacher.train.update({"epochs": 3, "restart_epochs": 3.0})
        set_student_training(c, epochs=2, restart_epochs=2.0, n_seeds=2)
        c.eval.latency_batch_sizes = (1, 32)
    elif arg == "sweep":
        c.study_name = "xor_c2q KD sweep"
        c.distill.temperatures = (1.0, 2.0, 4.0, 8.0)
        c.distill.alphas = (0.25, 0.5, 0.75, 1.0)
    elif arg:
        raise ValueError(f"unknown preset {arg!r} for xor_c2q.py; use ':quick', ':sweep' or nothing")
    return c
