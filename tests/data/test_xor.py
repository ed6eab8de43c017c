"""The extended XOR dataset: the documented labelling, deterministic splits, noise, and that it is
out of reach of a linear model but not of a non-linear one."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier

from ecgq.data import DATASETS, DataError, load_splits
from ecgq.data.config import check_data_config, data_config
from ecgq.data.summary import check_disjoint
from ecgq.data.xor import label_points


def _cfg(**xor):
    cfg = data_config("xor")
    cfg.xor.n_train, cfg.xor.n_val, cfg.xor.n_test = 600, 200, 400
    cfg.xor.update(xor)
    return cfg


def _points(s):
    return s.x[..., 0]


def test_registered_offline_with_its_defaults():
    spec = DATASETS.get("xor")
    assert spec.needs_data_dir is False and spec.source_files is None and spec.tasks == ("multiclass",)
    cfg = data_config("xor")
    assert (cfg.task, cfg.normalize, cfg.bandpass) == ("multiclass", "none", False)
    check_data_config(cfg)  # no data folder asked for


def test_base_case_labels_by_hand():
    # bit 0: the signs differ; bit 1: exactly one coordinate outside the centre square |x| <= 1/2.
    points = np.array([[0.25, 0.25], [-0.25, 0.25], [0.75, 0.25], [-0.75, 0.25],
                       [0.75, 0.75], [-0.75, -0.75], [0.75, -0.75], [-0.25, -0.75]])
    assert label_points(points, 1, 2).tolist() == [0, 1, 2, 3, 0, 0, 1, 2]
    # One level only: the classic two-class XOR.
    assert label_points(points, 1, 1).tolist() == [0, 1, 0, 1, 0, 0, 1, 0]
    # Two groups of two coordinates: bit g is the XOR of group g.
    four = np.array([[0.5, 0.5, 0.5, 0.5], [-0.5, 0.5, 0.5, 0.5], [0.5, 0.5, -0.5, 0.5], [-0.5, 0.5, 0.5, -0.5]])
    assert label_points(four, 2, 1).tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        label_points(np.zeros(3), 1, 1)


def test_splits_shapes_ids_and_balance():
    s = load_splits(_cfg())
    assert s.train.x.shape == (600, 2, 1) and s.train.x.dtype == np.float32 and s.train.y.dtype == np.int32
    assert (len(s.val), len(s.test)) == (200, 400)
    assert s.info.class_names == ("c0", "c1", "c2", "c3") and s.info.lead_names == ("xor",)
    assert not s.info.multilabel
    for name, split in s.items():
        assert len(set(split.patient)) == len(split) and np.array_equal(split.patient, split.record)
        assert all(p.startswith(f"xor-{name}-") for p in split.patient)
        assert np.abs(split.x).max() <= 1.0
        # Without noise the labels are exactly the documented function of the points.
        np.testing.assert_array_equal(split.y, label_points(_points(split), 1, 2))
    check_disjoint(s)
    counts = np.bincount(s.train.y, minlength=4)
    assert counts.min() > 0.18 * len(s.train) and counts.max() < 0.32 * len(s.train)


def test_deterministic_seed_sensitive_and_splits_independent():
    a, b = load_splits(_cfg()), load_splits(_cfg())
    for (name, sa), (_, sb) in zip(a.items(), b.items()):
        np.testing.assert_array_equal(sa.x, sb.x, err_msg=name)
        np.testing.assert_array_equal(sa.y, sb.y, err_msg=name)
    c = load_splits(_cfg(seed=1))
    for (name, sa), (_, sc) in zip(a.items(), c.items()):
        assert not np.allclose(sa.x, sc.x), name
    # Growing the training split leaves validation and test unchanged.
    d = load_splits(_cfg(n_train=900))
    np.testing.assert_array_equal(d.val.x, a.val.x)
    np.testing.assert_array_equal(d.test.y, a.test.y)
    np.testing.assert_array_equal(d.train.x[:600], a.train.x)


def test_label_noise_moves_that_fraction_to_other_classes():
    clean = load_splits(_cfg(n_train=4000))
    noisy = load_splits(_cfg(n_train=4000, label_noise=0.2))
    np.testing.assert_array_equal(noisy.train.x, clean.train.x)  # same points
    wrong = noisy.train.y != label_points(_points(noisy.train), 1, 2)
    assert 0.17 < wrong.mean() < 0.23
    # Moved labels land on every other class, never on the clean one.
    moved = (noisy.train.y[wrong] - clean.train.y[wrong]) % 4
    assert set(np.unique(moved)) == {1, 2, 3}


def test_input_noise_is_added_after_labelling():
    clean = load_splits(_cfg(n_train=3000))
    noisy = load_splits(_cfg(n_train=3000, input_noise=0.1))
    np.testing.assert_array_equal(noisy.train.y, clean.train.y)  # labels of the clean points
    delta = noisy.train.x - clean.train.x
    assert abs(delta.std() - 0.1) < 0.01 and abs(delta.mean()) < 0.01
    assert np.abs(noisy.train.x).max() > 1.0


def _scores(model, s):
    model.fit(_points(s.train), s.train.y)
    pred = model.predict(_points(s.test))
    return f1_score(s.test.y, pred, average="macro"), accuracy_score(s.test.y, pred)


def test_a_linear_model_fails_where_nonlinear_ones_succeed():
    s = load_splits(_cfg(n_train=2000, n_test=1000))
    linear_f1, linear_acc = _scores(LogisticRegression(max_iter=2000), s)
    assert linear_f1 < 0.35 and linear_acc < 0.35  # 4 balanced classes: chance is 0.25
    knn_f1, _ = _scores(KNeighborsClassifier(n_neighbors=15), s)
    mlp_f1, _ = _scores(MLPClassifier((32, 32), activation="tanh", max_iter=2000, random_state=0), s)
    assert knn_f1 > 0.85 and mlp_f1 > 0.85


def test_more_dimensions_and_classes():
    s = load_splits(_cfg(n_dims=4, n_groups=2, n_levels=2, n_train=300))
    assert s.train.x.shape == (300, 4, 1) and len(s.info.class_names) == 16
    assert set(np.unique(s.train.y)) == set(range(16))
    np.testing.assert_array_equal(s.test.y, label_points(_points(s.test), 2, 2))
    # Two parity groups, one level: still nothing for a linear model.
    s = load_splits(_cfg(n_dims=4, n_groups=2, n_levels=1, n_train=2000, n_test=1000))
    linear_f1, _ = _scores(LogisticRegression(max_iter=2000), s)
    assert linear_f1 < 0.35


@pytest.mark.parametrize("field,value,match", [
    ("n_dims", 1, "n_dims=1"), ("n_groups", 2, "n_groups=2"), ("n_groups", 0, "n_groups=0"),
    ("n_levels", 0, "n_levels=0"), ("n_levels", 7, "n_levels=7"), ("label_noise", 1.0, "label_noise"),
    ("input_noise", -0.1, "input_noise"), ("n_val", 0, "n_val")])
def test_bad_settings_name_the_flag(field, value, match):
    with pytest.raises(DataError, match=rf"--config\.data\.xor\.{match}"):
        load_splits(_cfg(**{field: value}))
