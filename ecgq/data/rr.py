"""RR-interval context of each beat, for any beat-annotated record.

Why: inter-patient beat classification generalises through the rhythm, not the morphology alone
(Lin & Yang 2014; Mondejar-Guerra et al. 2019), and an interval means little until it is compared
with the patient's own rhythm. Each beat gets, in seconds, its pre-RR, post-RR and local mean RR
(the last ``LOCAL_BEATS`` pre-RRs), the record's mean RR (in MIT-BIH a record is one patient),
and the first three divided by the record's mean RR (:data:`RR_FEATURES`, in that order).

Implausible intervals (shorter than ``MIN_RR`` or longer than ``MAX_RR`` seconds: annotation gaps,
signal drop-outs, noise marked as beats) are replaced by the record's median plausible interval
before anything is averaged, so one gap never spreads into ten beats' local means; a record with
no plausible interval at all falls back to ``DEFAULT_RR``.
"""

from __future__ import annotations

import dataclasses

import numpy as np

RR_FEATURES = ("pre_rr", "post_rr", "local_rr", "record_rr", "pre_rr_norm", "post_rr_norm", "local_rr_norm")
LOCAL_BEATS = 10
MIN_RR, MAX_RR = 0.2, 3.0  # seconds: 300 and 20 beats per minute
DEFAULT_RR = 0.8


def plausible_intervals(intervals: np.ndarray) -> np.ndarray:
    """``intervals`` with each value outside [MIN_RR, MAX_RR] replaced by the median plausible one."""
    ok = (intervals >= MIN_RR) & (intervals <= MAX_RR)
    fill = float(np.median(intervals[ok])) if ok.any() else DEFAULT_RR
    return np.where(ok, intervals, fill)


def rr_features(beat_samples: np.ndarray, fs: float) -> np.ndarray:
    """``(n_beats, 7)`` float32 RR context (:data:`RR_FEATURES`) of beats at ``beat_samples``.

    Edge beats borrow their neighbour's interval (first pre = first post, last post = last pre).
    """
    n = len(beat_samples)
    if n < 2:
        rr = np.full((n, 3), DEFAULT_RR)
    else:
        d = plausible_intervals(np.diff(np.asarray(beat_samples, np.float64)) / float(fs))
        pre = np.concatenate([[d[0]], d])
        post = np.concatenate([d, [d[-1]]])
        csum = np.concatenate([[0.0], np.cumsum(pre)])
        idx = np.arange(n)
        lo = np.maximum(0, idx - LOCAL_BEATS + 1)
        local = (csum[idx + 1] - csum[lo]) / (idx + 1 - lo)
        rr = np.stack([pre, post, local], axis=1)
    record = np.full((n, 1), rr[:, 0].mean() if n else DEFAULT_RR)
    return np.concatenate([rr, record, rr / record], axis=1).astype(np.float32)


def select_rr(split, names):
    """``split`` with only the RR features ``names`` (a subset of :data:`RR_FEATURES`, in that
    order of columns); unchanged when it has no RR features.

    Why a choice at all: ``record_rr`` (and the un-normalised seconds) are nearly constant within a
    record, so a model with capacity can use them to tell the training patients apart and learn
    each patient's labels instead of the rhythm; the ratios to the record's mean transfer to new
    patients."""
    if split.rr is None:
        return split
    unknown = [n for n in names if n not in RR_FEATURES]
    if unknown:
        raise ValueError(f"unknown RR features {unknown}; choose from {list(RR_FEATURES)}")
    cols = [RR_FEATURES.index(n) for n in names]
    return dataclasses.replace(split, rr=np.ascontiguousarray(split.rr[:, cols]))

