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


def resampled_beat_database(mitdb_dir, out_dir, records=("100", "103"), rate: int = 128, seconds: int = 120,
                            lead_name: str = "ML2"):
    """A small beat-annotated WFDB database at another sampling rate: the first ``seconds`` of MIT-BIH
    ``records`` (DS2: never trained on) resampled to ``rate`` Hz with scipy, MLII renamed ``lead_name``
    (as some databases call it), written with ``wfdb.wrsamp`` / ``wfdb.wrann`` as records ``r<NNN>``."""
    from fractions import Fraction

    import numpy as np
    import wfdb
    from scipy.signal import resample_poly

    os.makedirs(out_dir, exist_ok=True)
    names = []
    for record in records:
        src = os.path.join(str(mitdb_dir), record)
        head = wfdb.rdheader(src)
        stop = min(int(seconds * head.fs), head.sig_len)
        signal = wfdb.rdrecord(src, sampto=stop).p_signal
        ratio = Fraction(rate, int(head.fs))
        resampled = resample_poly(signal, ratio.numerator, ratio.denominator, axis=0)
        ann = wfdb.rdann(src, "atr", sampto=stop)
        sample = np.round(np.asarray(ann.sample) * rate / head.fs).astype(np.int64)
        keep = sample < len(resampled)
        name = f"r{record}"
        leads = [lead_name if s == "MLII" else s for s in head.sig_name]
        wfdb.wrsamp(name, fs=rate, units=["mV"] * len(leads), sig_name=leads, p_signal=resampled,
                    fmt=["16"] * len(leads), adc_gain=[200.0] * len(leads), baseline=[0] * len(leads),
                    write_dir=str(out_dir))
        wfdb.wrann(name, "atr", sample[keep], symbol=list(np.asarray(ann.symbol)[keep]), write_dir=str(out_dir))
        names.append(name)
    with open(os.path.join(str(out_dir), "RECORDS"), "w") as handle:
        handle.write("\n".join(names) + "\n")
    return out_dir
