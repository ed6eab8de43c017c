"""Metrics against scikit-learn on known inputs; confidence intervals; per-record aggregation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from sklearn import metrics as skm

from ecgq.eval import metrics


def test_binary_metrics_known_values():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 0])
    p1 = np.array([0.1, 0.6, 0.2, 0.3, 0.9, 0.4, 0.8, 0.05])
    probs = np.stack([1 - p1, p1], axis=1)
    m = metrics.classification_metrics(y, probs)
    pred = (p1 >= 0.5).astype(int)
    # TP=2 FN=1 TN=4 FP=1
    assert m["sensitivity"] == pytest.approx(2 / 3)
    assert m["specificity"] == pytest.approx(4 / 5)
    assert m["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert m["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, p1))
    assert metrics.balanced_accuracy_fast(y, probs) == pytest.approx(m["balanced_accuracy"])
    # A single-logit head gives P(positive) directly.
    assert metrics.classification_metrics(y, p1[:, None]) == pytest.approx(m)


def test_multiclass_macro_metrics():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    probs = rng.dirichlet(np.ones(3), 60)
    probs[np.arange(60), y] += 0.3
    probs /= probs.sum(1, keepdims=True)
    pred = probs.argmax(1)
    m = metrics.classification_metrics(y, probs)
    assert m["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert m["sensitivity"] == pytest.approx(skm.recall_score(y, pred, average="macro"))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, probs, multi_class="ovr"))
    cm = skm.confusion_matrix(y, pred)
    spec = [(cm.sum() - cm[k].sum() - cm[:, k].sum() + cm[k, k]) / (cm.sum() - cm[k].sum()) for k in range(3)]
    assert m["specificity"] == pytest.approx(np.mean(spec))
    assert metrics.balanced_accuracy_fast(y, probs) == pytest.approx(m["balanced_accuracy"])


def test_multilabel_is_macro_over_labels():
    y = np.array([[1, 0], [0, 1], [1, 1], [0, 0], [1, 0]])
    probs = np.array([[0.9, 0.2], [0.4, 0.7], [0.6, 0.3], [0.2, 0.6], [0.3, 0.1]])
    m = metrics.classification_metrics(y, probs, multilabel=True)
    pred = (probs >= 0.5).astype(int)
    assert m["balanced_accuracy"] == pytest.approx(np.mean([skm.balanced_accuracy_score(y[:, j], pred[:, j]) for j in range(2)]))
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(y, probs, average="macro"))
    assert m["accuracy"] == pytest.approx(np.mean(y == pred))
    assert metrics.balanced_accuracy_fast(y, probs, multilabel=True) == pytest.approx(m["balanced_accuracy"])


def test_undefined_auc_is_nan_not_half():
    m = metrics.classification_metrics(np.zeros(4, int), np.tile([0.7, 0.3], (4, 1)))
    assert math.isnan(m["roc_auc"]) and math.isnan(m["sensitivity"])
    assert m["specificity"] == 1.0


def test_mean_ci95_t_distribution():
    values = [0.8, 0.85, 0.9, 0.7, 0.75]
    out = metrics.mean_ci95(values)
    half = stats.t.ppf(0.975, 4) * np.std(values, ddof=1) / np.sqrt(5)
    assert out["mean"] == pytest.approx(np.mean(values))
    assert out["ci95"] == pytest.approx(half)
    assert metrics.mean_ci95([0.5]) == {"mean": 0.5, "ci95": None}
    assert metrics.mean_ci95([float("nan")]) == {"mean": None, "ci95": None}
    summary = metrics.summarize([{k: 0.5 for k in metrics.METRIC_NAMES}] * 3)
    assert set(summary) == set(metrics.METRIC_NAMES) and summary["accuracy"]["ci95"] == 0.0


def test_aggregate_by_record():
    probs = np.array([[0.9, 0.1], [0.7, 0.3], [0.2, 0.8], [0.4, 0.6], [0.0, 1.0]])
    labels = np.array([0, 0, 1, 1, 1])
    records = np.array(["b", "b", "a", "a", "a"])
    rp, rl, ids = metrics.aggregate_by_record(probs, labels, records)
    assert list(ids) == ["a", "b"]
    np.testing.assert_allclose(rp, [[0.2, 0.8], [0.8, 0.2]])
    assert list(rl) == [1, 0]
    with pytest.raises(ValueError):
        metrics.aggregate_by_record(probs, np.array([0, 1, 1, 1, 1]), records)
