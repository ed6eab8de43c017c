"""Signal conditioning shared by every loader, all through scipy.

Filters run per record before windowing (zero-phase, so R peaks do not move relative to the
annotations); z-scoring is per window or per record, per lead. Signals are (time, leads).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage, signal


def bandpass(x: np.ndarray, fs: float, low: float, high: float, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth band-pass along time; ``high`` is clipped below Nyquist."""
    nyq = fs / 2.0
    high = min(high, 0.95 * nyq)
    sos = signal.butter(order, [low, high], btype="bandpass", fs=fs, output="sos")
    return signal.sosfiltfilt(sos, x, axis=0)


def notch(x: np.ndarray, fs: float, freq: float, quality: float = 30.0) -> np.ndarray:
    """Zero-phase IIR notch at ``freq``; a no-op when ``freq`` is 0 or not below Nyquist."""
    if freq <= 0 or freq >= fs / 2.0:
        return x
    b, a = signal.iirnotch(freq, quality, fs=fs)
    return signal.filtfilt(b, a, x, axis=0)


def remove_baseline(x: np.ndarray, fs: float) -> np.ndarray:
    """Subtract a 0.2 s then 0.6 s moving-median baseline (removes P/QRS, then T, from the estimate)."""
    w1 = max(1, int(round(0.2 * fs)) | 1)
    w2 = max(1, int(round(0.6 * fs)) | 1)
    base = ndimage.median_filter(x, size=(w1, 1), mode="nearest")
    base = ndimage.median_filter(base, size=(w2, 1), mode="nearest")
    return x - base


def resample(x: np.ndarray, fs: float, target: float) -> np.ndarray:
    """Polyphase resampling along time from ``fs`` to ``target`` Hz (no-op when equal or target<=0)."""
    if target <= 0 or abs(fs - target) < 1e-9:
        return x
    up, down = _ratio(target, fs)
    return signal.resample_poly(x, up, down, axis=0)


def _ratio(target: float, fs: float) -> tuple[int, int]:
    """Small integers up/down with up/down == target/fs (rates are integral in practice)."""
    t, f = int(round(target * 1000)), int(round(fs * 1000))
    g = math.gcd(t, f)
    return t // g, f // g


def zscore(x: np.ndarray, axis: int, eps: float = 1e-6) -> np.ndarray:
    """Zero mean, unit variance along ``axis``; flat segments become zeros, not NaN."""
    mean = x.mean(axis=axis, keepdims=True)
    std = x.std(axis=axis, keepdims=True)
    return (x - mean) / np.maximum(std, eps)


def condition_record(x: np.ndarray, fs: float, cfg) -> np.ndarray:
    """Apply the record-level steps the config asks for: baseline, band-pass, notch, record z-score."""
    x = np.asarray(x, dtype=np.float64)
    if cfg.baseline_removal:
        x = remove_baseline(x, fs)
    if cfg.bandpass:
        x = bandpass(x, fs, cfg.bandpass_low, cfg.bandpass_high)
    x = notch(x, fs, cfg.notch_hz)
    if cfg.normalize == "record":
        x = zscore(x, axis=0)
    return x


def normalize_windows(x: np.ndarray, mode: str) -> np.ndarray:
    """Per-window, per-lead z-score of (n, time, leads) when ``mode == 'window'``."""
    if mode == "window":
        return zscore(x, axis=1).astype(np.float32)
    if mode in ("record", "none"):
        return x.astype(np.float32)
    from ecgq.data.errors import DataError

    raise DataError(f"Unknown data.normalize={mode!r}; choose 'window', 'record' or 'none'.")


def subtract_record_median(x: np.ndarray, records: np.ndarray) -> np.ndarray:
    """Each window of (n, time, leads) minus the sample-wise median window of its record.

    Why: beat morphology differs more between patients than between a patient's normal and
    abnormal beats, so a beat's shape transfers to new patients only relative to that patient's
    own usual beat, as an RR interval does only relative to the patient's mean RR. Most beats of
    a record are normal, so its median beat is close to the patient's normal beat. No label is
    used: a test record's median comes from its own unlabelled beats, like its mean RR.
    """
    out = np.array(x, np.float32, copy=True)
    for record in np.unique(records):
        rows = records == record
        out[rows] -= np.median(out[rows], axis=0)
    return out


def check_signal(x: np.ndarray, record: str) -> None:
    """Raise RecordError for NaN or flat leads: they would silently become all-zero windows."""
    from ecgq.data.errors import SKIP_HINT, RecordError

    if not np.all(np.isfinite(x)):
        raise RecordError(record, "nan_signal", f"Record {record} contains NaN/inf samples; "
                          f"repair or remove it, or {SKIP_HINT}.")
    flat = np.ptp(x, axis=0) <= 1e-8 if len(x) else np.array([True])
    if np.any(flat):
        raise RecordError(record, "flat_signal", f"Record {record} has a flat lead (no signal); "
                          f"remove it or {SKIP_HINT}.")


def crops(x: np.ndarray, length: int, stride: int) -> np.ndarray:
    """Cut (time, leads) into (k, length, leads): one zero-padded crop from the start when stride<=0,
    else every full window at ``stride`` (at least one, padded when the record is short)."""
    if length <= 0:
        return x[None]
    if stride <= 0 or len(x) <= length:
        out = np.zeros((1, length, x.shape[1]), dtype=x.dtype)
        n = min(length, len(x))
        out[0, :n] = x[:n]
        return out
    starts = np.arange(0, len(x) - length + 1, stride)
    view = np.lib.stride_tricks.sliding_window_view(x, length, axis=0)  # (T-L+1, leads, L)
    return np.ascontiguousarray(view[starts].transpose(0, 2, 1))
