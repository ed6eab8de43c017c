"""Classification metrics (scikit-learn) per seed, and their mean with a 95% confidence interval.

Conventions, fixed here so every report means the same thing:

* Single-label tasks take class probabilities ``(n, n_classes)``; predictions are the argmax.
  With two classes, class 1 is the positive (abnormal) class: ``sensitivity`` is its recall,
  ``specificity`` the recall of class 0, ``roc_auc`` uses ``P(class 1)``. With more classes each
  of sensitivity, specificity and ROC AUC is the macro average of the one-vs-rest values.
* Multi-label tasks take per-label probabilities ``(n, n_labels)`` thresholded at 0.5; every metric
  is the macro average over labels of the binary metric (accuracy too: mean per-label accuracy).
* A metric that is undefined on the given data (ROC AUC with one class present) is ``nan``,
  never silently 0.5.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats
from sklearn import metrics as skm

METRIC_NAMES = (
    "accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "sensitivity", "specificity",
)


def _binary(y_true: np.ndarray, p_pos: np.ndarray) -> dict[str, float]:
    """All metrics of one binary problem (positive = 1) from P(positive)."""
    y_pred = (p_pos >= 0.5).astype(np.int64)
    tn, fp, fn, tp = skm.confusion_matrix(y_true, y_pred, labels=[0, 1]).ravel()
    sens = tp / (tp + fn) if tp + fn else math.nan
    spec = tn / (tn + fp) if tn + fp else math.nan
    both = len(np.unique(y_true)) == 2
    return {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(np.nanmean([sens, spec])) if both else math.nan,
        "f1_macro": float(skm.f1_score(y_true, y_pred, average="macro", labels=[0, 1], zero_division=0)),
        "roc_auc": float(skm.roc_auc_score(y_true, p_pos)) if both else math.nan,
        "sensitivity": float(sens),
        "specificity": float(spec),
    }


def classification_metrics(
    y_true: np.ndarray, probs: np.ndarray, multilabel: bool = False
) -> dict[str, float]:
    """Every metric in ``METRIC_NAMES`` for one model (one seed) on one split."""
    y_true = np.asarray(y_true)
    probs = np.asarray(probs, dtype=np.float64)
    if multilabel:
        per_label = [_binary(y_true[:, j].astype(np.int64), probs[:, j]) for j in range(probs.shape[1])]
        return {name: float(np.nanmean([m[name] for m in per_label])) for name in METRIC_NAMES}
    y_true = y_true.astype(np.int64)
    n_classes = probs.shape[1]
    if n_classes == 1:  # a single-logit binary head: the column is P(positive)
        return _binary(y_true, probs[:, 0])
    if n_classes == 2:
        return _binary(y_true, probs[:, 1])
    y_pred = probs.argmax(axis=1)
    labels = np.arange(n_classes)
    cm = skm.confusion_matrix(y_true, y_pred, labels=labels)
    tp = np.diag(cm).astype(float)
    fn = cm.sum(axis=1) - tp
    fp = cm.sum(axis=0) - tp
    tn = cm.sum() - tp - fn - fp
    with np.errstate(invalid="ignore", divide="ignore"):
        sens = np.where(tp + fn > 0, tp / (tp + fn), np.nan)
        spec = np.where(tn + fp > 0, tn / (tn + fp), np.nan)
    present = np.unique(y_true)
    try:
        auc = float(skm.roc_auc_score(y_true, probs, multi_class="ovr", average="macro", labels=labels))
    except ValueError:  # a class absent from y_true: one-vs-rest AUC is undefined for it
        auc = math.nan
    return {
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "balanced_accuracy": float(np.mean(sens[present])),
        "f1_macro": float(skm.f1_score(y_true, y_pred, average="macro", labels=labels, zero_division=0)),
        "roc_auc": auc,
        "sensitivity": float(np.nanmean(sens)),
        "specificity": float(np.nanmean(spec)),
    }


def balanced_accuracy_fast(y_true: np.ndarray, probs: np.ndarray, multilabel: bool = False) -> float:
    """Balanced accuracy without sklearn overhead, for per-epoch validation of many members."""
    y_true = np.asarray(y_true)
    if multilabel or probs.shape[1] == 1:
        y = y_true.reshape(len(y_true), -1).astype(np.int64)
        pred = (probs >= 0.5).astype(np.int64)
        values = []
        for j in range(pred.shape[1]):
            recalls = [np.mean(pred[y[:, j] == c, j] == c) for c in (0, 1) if np.any(y[:, j] == c)]
            values.append(np.mean(recalls) if len(recalls) == 2 else np.nan)
        return float(np.nanmean(values)) if not np.all(np.isnan(values)) else math.nan
    pred = probs.argmax(axis=1)
    recalls = [np.mean(pred[y_true == c] == c) for c in np.unique(y_true)]
    return float(np.mean(recalls))


def mean_ci95(values: Sequence[float]) -> dict[str, float | None]:
    """Mean and half-width of the two-sided 95% t-interval over seeds.

    ``ci95`` is ``None`` for fewer than two finite values (no spread to estimate); ``nan`` values
    (metric undefined for a seed) are left out and the mean is ``None`` when none remain.
    """
    finite = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=np.float64)
    if finite.size == 0:
        return {"mean": None, "ci95": None}
    mean = float(finite.mean())
    if finite.size < 2:
        return {"mean": mean, "ci95": None}
    half = stats.t.ppf(0.975, finite.size - 1) * finite.std(ddof=1) / math.sqrt(finite.size)
    return {"mean": mean, "ci95": float(half)}


def summarize(per_seed: Sequence[Mapping[str, float]]) -> dict[str, dict[str, float | None]]:
    """``{metric: {"mean", "ci95"}}`` over the per-seed metric dicts of one model/setting."""
    return {name: mean_ci95([m[name] for m in per_seed]) for name in METRIC_NAMES}


def aggregate_by_record(
    probs: np.ndarray, labels: np.ndarray, records: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-record predictions from window (crop/beat) predictions: the mean window probability.

    Returns ``(record_probs, record_labels, record_ids)`` in sorted record order. Every window of a
    record must carry the same label (they describe one recording); a mismatch is an error, since a
    silently chosen label would bias the evaluation.
    """
    records = np.asarray(records)
    ids, inverse = np.unique(records, return_inverse=True)
    counts = np.bincount(inverse, minlength=len(ids)).astype(np.float64)
    flat = probs.reshape(len(probs), -1).astype(np.float64)
    sums = np.zeros((len(ids), flat.shape[1]))
    np.add.at(sums, inverse, flat)
    record_probs = (sums / counts[:, None]).reshape((len(ids),) + probs.shape[1:])
    first = np.zeros(len(ids), dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(records))[::-1]
    record_labels = np.asarray(labels)[first]
    if not np.array_equal(np.asarray(labels), record_labels[inverse]):
        raise ValueError("windows of one record carry different labels; cannot aggregate per record")
    return record_probs, record_labels, ids
