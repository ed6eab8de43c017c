"""Filters, resampling, normalisation and cropping on signals with known content."""

from __future__ import annotations

import numpy as np

from ecgq.data import preprocess

FS = 360.0


def _tone(freq, seconds=20.0):
    t = np.arange(int(seconds * FS)) / FS
    return np.sin(2 * np.pi * freq * t)[:, None]


def _power(x):
    core = x[len(x) // 4: -len(x) // 4]
    return float(np.mean(core**2))


def test_bandpass_keeps_qrs_band_and_removes_wander_and_high_freq():
    assert _power(preprocess.bandpass(_tone(10), FS, 0.67, 40)) > 0.45
    assert _power(preprocess.bandpass(_tone(0.1), FS, 0.67, 40)) < 0.01
    assert _power(preprocess.bandpass(_tone(100), FS, 0.67, 40)) < 0.01


def test_notch_removes_mains_only():
    assert _power(preprocess.notch(_tone(50), FS, 50)) < 0.01
    assert _power(preprocess.notch(_tone(10), FS, 50)) > 0.45
    x = _tone(10)
    assert preprocess.notch(x, 100.0, 50) is x  # at Nyquist: disabled


def test_baseline_removal_removes_slow_offset():
    x = _tone(0.05) * 2 + 1.0
    assert np.abs(preprocess.remove_baseline(x, FS)[len(x) // 4: -len(x) // 4]).max() < 0.05


def test_resample_length_and_content():
    x = _tone(5, seconds=4)
    y = preprocess.resample(x, FS, 100)
    assert y.shape == (400, 1)
    np.testing.assert_allclose(y[50:-50, 0], np.sin(2 * np.pi * 5 * np.arange(400) / 100)[50:-50], atol=0.02)


def test_zscore_and_flat_window():
    x = np.stack([np.linspace(0, 5, 100), np.zeros(100)], axis=1)[None]
    z = preprocess.normalize_windows(x, "window")
    np.testing.assert_allclose(z[0, :, 0].mean(), 0, atol=1e-6)
    np.testing.assert_allclose(z[0, :, 0].std(), 1, atol=1e-4)
    assert np.all(z[0, :, 1] == 0) and z.dtype == np.float32


def test_crops_pad_and_stride():
    x = np.arange(10, dtype=float)[:, None]
    padded = preprocess.crops(x, 16, 0)
    assert padded.shape == (1, 16, 1) and padded[0, 10:, 0].sum() == 0
    windows = preprocess.crops(x, 4, 3)
    np.testing.assert_array_equal(windows[:, 0, 0], [0, 3, 6])
    np.testing.assert_array_equal(windows[2, :, 0], [6, 7, 8, 9])
