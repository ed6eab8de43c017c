"""The spiking + quantum hybrid on 12-lead PTB-XL: ``snn_vqc`` against its controls and the CNNs.

Tests the "Green AI" hybrid's claims (< 50k parameters, < 10 ms and < 0.5 mJ per sample, 95.8%
accuracy; their public code scored on test folds that held the whole dataset). strat_fold 1-8 train,
9 validation, 10 test; every student sees the whole 10 s record, 12 leads at 100 Hz (1000 x 12):

- ``snn_vqc``: the spiking temporal pyramid (LIF, 1-bit convolutions after the first) fused by a
  learned gate with an 8-qubit, 3-layer circuit whose all-pair CRX entanglement is learned;
- ``snn_mlp``: the same hybrid with a classical layer of the circuit's size (what the circuit adds);
- ``snn``: the spiking path alone (what the second path adds);
- ``resnet1d``, ``cnn1d``: non-spiking students on the same view.

The teacher (``ecgfounder_small``) reads each record at 500 Hz as in the other PTB-XL studies; each
student is trained with and without KD. AdamW with cosine warm restarts (SGDR), the seed's optimiser.
The report adds per run the spike rate and an operation-count energy estimate (Horowitz 2014, 45 nm)
beside CPU latency at batch 1 and 256 and NVML energy where a GPU has it, and draws the learned
entanglement map of ``snn_vqc``; the seed's targets sit beside the measured numbers in results.md.

Presets: none (five superdiagnostic classes, multi-label), ``:binary`` (NORM vs abnormal),
``:quick`` / ``:binary_quick`` (CI: 2 seeds, few epochs, the 500-record subset is enough).
"""

from __future__ import annotations

import importlib.util
import os

STUDENTS = ("snn_vqc", "snn_mlp", "snn", "resnet1d", "cnn1d")
PRESETS = (None, "quick", "binary", "binary_quick")


def _ptbxl_binary():
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ptbxl_binary.py")
    spec = importlib.util.spec_from_file_location("ptbxl_binary", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def get_config(arg: str | None = None):
    from ecgq.studies.distill_config import distill_study_config, set_student_training, targets_config

    if arg not in PRESETS:
        raise ValueError(f"unknown preset {arg!r} for ptbxl_snn.py; use one of "
                         f"{[':' + p for p in PRESETS if p]} or nothing")
    task = "binary" if arg and arg.startswith("binary") else "superdiagnostic"
    quick = bool(arg) and arg.endswith("quick")
    c = distill_study_config("ptbxl", student_names=STUDENTS, n_seeds=5)
    c.study_name = f"PTB-XL {task}, spiking + quantum hybrid (folds 1-8 / 9 / 10, 12 leads, 100 Hz)"
    c.data.task = task
    c.data.leads = ""  # all twelve
    c.data.sampling_rate = 100
    c.data.crop_length = 0  # the whole 10 s record: one window per record
    _ptbxl_binary().set_teacher_view(c, task)
    set_student_training(c, epochs=30, restart_epochs=10.0, batch_size=64, optimizer="adamw",
                         schedule="cosine_restarts", learning_rate=2e-3, early_stopping_patience=10)
    c.targets = targets_config("Green-AI SNN + VQC seed (its own claims)", total_params=50_000, latency_ms=10.0,
                               energy_mj=0.5, accuracy=0.958)
    if quick:
        c.teacher.train.epochs = 2
        set_student_training(c, epochs=2, n_seeds=2, restart_epochs=2.0)
        c.eval.latency_batch_sizes = (1, 32)
    return c
