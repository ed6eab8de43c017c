"""Synthetic ECG: deterministic, patient-disjoint, learnable but not linearly trivial."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score

from ecgq.data import load_splits
from ecgq.data.config import data_config
from ecgq.data.summary import check_disjoint


def test_deterministic_and_seed_sensitive():
    cfg = data_config("synthetic")
    cfg.synthetic.n_train, cfg.synthetic.n_val, cfg.synthetic.n_test = 200, 50, 50
    a, b = load_splits(cfg), load_splits(cfg)
    assert a.info == b.info
    for (name, sa), (_, sb) in zip(a.items(), b.items()):
        for field in ("x", "y", "record", "patient"):
            np.testing.assert_array_equal(getattr(sa, field), getattr(sb, field), err_msg=f"{name}.{field}")
        assert sa.rr is None and sb.rr is None
    cfg.synthetic.seed = 1
    c = load_splits(cfg)
    for (name, sa), (_, sc) in zip(a.items(), c.items()):
        assert sa.x.shape == sc.x.shape
        assert not np.allclose(sa.x, sc.x), name  # every split changes with the seed
        assert not np.array_equal(sa.y, sc.y), name


def test_default_shape_and_disjoint_patients():
    # No wall-clock assertion here: generation speed is measured by benchmarks, not by tests.
    s = load_splits(data_config("synthetic"))
    assert s.train.x.shape == (2000, 256, 1) and s.train.x.dtype == np.float32
    assert (len(s.val), len(s.test)) == (500, 500)
    assert s.info.class_names == ("normal", "abnormal")
    assert 0.35 < s.train.y.mean() < 0.65
    check_disjoint(s)


def test_any_rate_leads_and_multiclass():
    cfg = data_config("synthetic")
    cfg.task, cfg.sampling_rate, cfg.window_length = "multiclass", 250, 500
    cfg.synthetic.n_leads, cfg.synthetic.n_train = 3, 400
    s = load_splits(cfg)
    assert s.train.x.shape == (400, 500, 3) and s.info.sampling_rate == 250.0
    assert set(np.unique(s.train.y)) == {0, 1, 2, 3}
    assert len(s.info.class_names) == 4


def test_learnable_but_not_by_a_linear_model_on_raw_samples():
    s = load_splits(data_config("synthetic"))
    x_train, x_test = s.train.x[..., 0], s.test.x[..., 0]
    linear = LogisticRegression(max_iter=1000).fit(x_train, s.train.y)
    raw_score = balanced_accuracy_score(s.test.y, linear.predict(x_test))
    spectrum = lambda x: np.abs(np.fft.rfft(x, axis=1))
    forest = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1)
    forest.fit(spectrum(x_train), s.train.y)
    feature_score = balanced_accuracy_score(s.test.y, forest.predict(spectrum(x_test)))
    assert raw_score < 0.7, raw_score
    assert feature_score > 0.62, feature_score
    assert feature_score > raw_score + 0.08
