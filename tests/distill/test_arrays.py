"""RR features reach the models z-scored with training statistics only."""

from __future__ import annotations

import numpy as np

from ecgq.distill.arrays import standardize_rr


def test_rr_is_standardised_with_the_training_split_only():
    rng = np.random.default_rng(0)
    train = rng.normal([0.8, 1.0, 5.0], [0.1, 0.2, 2.0], size=(500, 3)).astype(np.float32)
    test = train[:50] + 100.0  # a shifted test split must not move the statistics
    data = {"train": {"x": np.zeros((500, 4, 1)), "rr": train}, "test": {"x": np.zeros((50, 4, 1)), "rr": test}}
    out = standardize_rr(data)
    np.testing.assert_allclose(out["train"]["rr"].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out["train"]["rr"].std(axis=0), 1, atol=1e-4)
    np.testing.assert_allclose(out["test"]["rr"], (test - train.mean(0)) / train.std(0), rtol=1e-4)
    assert out["test"]["rr"].dtype == np.float32 and data["train"]["rr"] is train  # inputs untouched


def test_without_rr_nothing_changes():
    data = {"train": {"x": np.zeros((3, 4, 1))}}
    assert standardize_rr(data) is data
