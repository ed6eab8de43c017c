"""Deterministic synthetic ECG: the embedded default dataset (no download, runs offline in seconds).

Each beat is a sum of Gaussian waves (P, Q, R, S, T; McSharry et al. 2003 in spirit) placed on an
RR sequence with heart-rate variability, plus baseline wander and white noise. Each synthetic
patient has its own heart rate, amplitudes and lead gains; its windows never cross splits.
Classes (multiclass task): normal; pvc (one premature, wide beat without P wave, inverted T, then a
compensatory pause); st_deviation (raised or depressed ST segment); af (irregular RR, no P waves,
fibrillatory waves). The binary task is normal vs any abnormal.

Windows start at a random phase of the cardiac cycle, so a linear model on raw samples cannot
solve the task; features that are shift invariant (RR irregularity, QRS width, spectra) can.
"""

from __future__ import annotations

import numpy as np

from ecgq.data.preprocess import normalize_windows
from ecgq.data.registry import DATASETS, DatasetSpec
from ecgq.data.types import DatasetInfo, Splits, make_split

MULTICLASS_NAMES = ("normal", "pvc", "st_deviation", "af")
BINARY_NAMES = ("normal", "abnormal")
MAX_BEATS = 16
# Wave offsets from R (s), amplitudes (R = 1) and widths (s) of a normal beat.
WAVES = {"P": (-0.20, 0.12, 0.025), "Q": (-0.035, -0.12, 0.010), "R": (0.0, 1.0, 0.012),
         "S": (0.035, -0.25, 0.012), "T": (0.28, 0.30, 0.055), "ST": (0.13, 0.0, 0.05)}


def load(cfg) -> Splits:
    """Generate train/val/test with disjoint synthetic patients; same config -> same arrays."""
    s = cfg.synthetic
    multi = cfg.task == "multiclass"
    splits = {}
    for index, (name, n) in enumerate((("train", s.n_train), ("val", s.n_val), ("test", s.n_test))):
        rng = np.random.default_rng([int(s.seed), index])
        x, cls, patient = generate(rng, n, cfg.window_length, float(cfg.sampling_rate),
                                   int(s.n_leads), int(s.examples_per_patient), float(s.noise))
        x = normalize_windows(x, cfg.normalize if cfg.normalize != "record" else "window")
        y = cls if multi else (cls > 0).astype(np.int32)
        patient = np.array([f"syn-{name}-{p}" for p in patient])
        splits[name] = make_split(x, y, patient, patient)
    info = DatasetInfo(
        name="synthetic", task=cfg.task, class_names=MULTICLASS_NAMES if multi else BINARY_NAMES,
        multilabel=False, sampling_rate=float(cfg.sampling_rate),
        lead_names=tuple(f"lead{i}" for i in range(int(s.n_leads))),
        dropped={k: {} for k in splits})
    return Splits(info=info, **splits)


def generate(rng: np.random.Generator, n: int, length: int, fs: float, n_leads: int,
             per_patient: int, noise: float):
    """(x (n, length, leads), class (n,), patient index (n,)); classes are balanced normal vs abnormal."""
    n_pat = max(1, -(-n // max(1, per_patient)))
    patient = np.repeat(np.arange(n_pat), per_patient)[:n]
    # Patient traits.
    rr_mean = (60.0 / rng.uniform(55, 100, n_pat))[patient]
    amp = rng.uniform(0.6, 1.4, n_pat)[patient]
    t_amp = rng.uniform(0.15, 0.45, n_pat)[patient]
    width = rng.uniform(0.85, 1.2, n_pat)[patient]
    gains = rng.normal(0.0, 1.0, (n_pat, n_leads))
    gains[:, 0] = np.abs(gains[:, 0]) + 0.5
    gains = gains[patient]
    # Half normal, the rest evenly among the abnormal classes.
    cls = np.where(rng.random(n) < 0.5, 0, rng.integers(1, 4, n)).astype(np.int32)

    duration = length / fs
    # RR sequences (n, MAX_BEATS) starting well before the window.
    hrv = 1.0 + 0.04 * rng.standard_normal((n, MAX_BEATS))
    af = cls == 3
    hrv[af] = np.clip(0.8 + 0.3 * rng.standard_normal((af.sum(), MAX_BEATS)), 0.6, 1.6)
    rr = rr_mean[:, None] * hrv
    start = -rng.uniform(0.5, 1.5, n) * rr_mean  # random cardiac phase at the window start
    beats = start[:, None] + np.cumsum(rr, axis=1) - rr[:, :1]
    # PVC: the beat nearest a random time inside the window comes early and is wide.
    pvc = cls == 1
    wide = np.ones((n, MAX_BEATS))
    has_p = np.ones((n, MAX_BEATS))
    t_scale = np.ones((n, MAX_BEATS))
    if pvc.any():
        target = rng.uniform(0.25, 0.75, n) * duration
        k = np.argmin(np.abs(beats - target[:, None]), axis=1)
        k = np.maximum(k, 1)
        rows = np.nonzero(pvc)[0]
        kk = k[rows]
        early = 0.35 * rr[rows, kk]
        shift = np.zeros((len(rows), MAX_BEATS))
        shift[np.arange(len(rows)), kk] = -early  # premature beat; later beats keep their times
        beats[rows] += shift                      # (full compensatory pause)
        wide[rows, kk] = rng.uniform(2.5, 3.5, len(rows))
        has_p[rows, kk] = 0.0
        t_scale[rows, kk] = -1.8
    has_p[af] = 0.0
    st = np.zeros(n)
    st_rows = cls == 2
    st[st_rows] = rng.choice([-1.0, 1.0], st_rows.sum()) * rng.uniform(0.15, 0.3, st_rows.sum())

    t = (np.arange(length) / fs).astype(np.float32)
    dt = t[None, None, :] - beats[:, :, None].astype(np.float32)  # (n, beats, time)
    w = width[:, None] * wide
    ones = np.ones_like(w)
    wave_sum = np.zeros((n, MAX_BEATS, length), dtype=np.float32)
    for name, (off, a, sd) in WAVES.items():
        if name == "P":
            a_arr, sd_arr, off_arr = a * has_p, sd * ones, off * ones
        elif name in ("Q", "R", "S"):
            a_arr, sd_arr, off_arr = a * ones, sd * w, off * w
        elif name == "T":
            a_arr = t_amp[:, None] * t_scale
            sd_arr = sd * np.where(wide > 1, 1.5, 1.0)
            off_arr = off * np.sqrt(rr / 0.8)
        else:
            a_arr, sd_arr, off_arr = st[:, None] * ones, sd * ones, off * ones
        inv = (-0.5 / sd_arr**2).astype(np.float32)[..., None]
        wave_sum += a_arr.astype(np.float32)[..., None] * np.exp((dt - off_arr.astype(np.float32)[..., None]) ** 2 * inv)
    beat_signal = amp[:, None] * wave_sum.sum(axis=1)  # (n, time)
    # Fibrillatory waves for AF, baseline wander for all.
    f_freq = rng.uniform(4, 8, n)[:, None]
    fib = np.where(af[:, None], 0.05 * np.sin(2 * np.pi * f_freq * t + rng.uniform(0, 6.3, n)[:, None]), 0)
    wander = rng.uniform(0, 0.3, n)[:, None] * np.sin(
        2 * np.pi * rng.uniform(0.1, 0.4, n)[:, None] * t + rng.uniform(0, 6.3, n)[:, None])
    base = beat_signal + fib
    x = base[:, :, None] * gains[:, None, :] + wander[:, :, None]
    x += noise * rng.standard_normal(x.shape)
    return x, cls, patient


DATASETS.register(DatasetSpec(
    name="synthetic",
    description="Deterministic synthetic ECG (normal, PVC, ST deviation, AF), disjoint synthetic patients; offline",
    tasks=("binary", "multiclass"),
    build=lambda cfg, _data_dir: load(cfg),
    fields={"synthetic": {"n_train": 2000, "n_val": 500, "n_test": 500, "n_leads": 1,
                          "examples_per_patient": 10, "noise": 0.05, "seed": 0}},
    docs={
        "synthetic.n_train": "Number of training examples.",
        "synthetic.n_val": "Number of validation examples.",
        "synthetic.n_test": "Number of test examples.",
        "synthetic.n_leads": "Number of leads generated.",
        "synthetic.examples_per_patient": "Windows per synthetic patient (patients never cross splits).",
        "synthetic.noise": "Standard deviation of white noise relative to the R amplitude.",
        "synthetic.seed": "Generator seed (same seed and config -> identical arrays).",
    },
    defaults={"sampling_rate": 100, "bandpass": False, "notch_hz": 0.0},
    needs_data_dir=False,
))
