"""Which training samples an epoch visits: every sample, or the majority class cut down.

Why undersampling: in MIT-BIH about nine beats in ten are normal, so an epoch over every beat spends
most of its steps on the class the model learns first. ``"undersample"`` visits every sample of the
minority classes and as many majority samples as the next largest class has, taking the next slice
of one fixed per-seed order of the majority class each epoch: over ``count / cap`` epochs every
training sample is visited once, and an epoch costs a fraction of a full pass. Each epoch is a pure
function of ``(seed, epoch)``, so a resumed run draws exactly the batches of an uninterrupted one.
"""

from __future__ import annotations

import numpy as np

EPOCH_SAMPLINGS = ("all", "undersample")


def class_groups(y: np.ndarray, sampling: str, multilabel: bool) -> list[np.ndarray] | None:
    """Indices of each class for ``"undersample"``; ``None`` for ``"all"``."""
    if sampling == "all":
        return None
    if sampling != "undersample":
        raise ValueError(f"train.epoch_sampling must be one of {list(EPOCH_SAMPLINGS)}, got {sampling!r}")
    if multilabel:
        raise ValueError("train.epoch_sampling='undersample' needs single-label targets; "
                         "multi-label tasks use 'all' (with class_weighting='balanced').")
    y = np.asarray(y).astype(int)
    return [np.flatnonzero(y == c) for c in np.unique(y)]


def _cap(groups: list[np.ndarray]) -> int:
    sizes = sorted((len(g) for g in groups), reverse=True)
    return sizes[1] if len(sizes) > 1 else sizes[0]


def epoch_size(n: int, groups: list[np.ndarray] | None) -> int:
    """Samples one epoch visits."""
    if groups is None:
        return n
    cap = _cap(groups)
    return sum(min(len(g), cap) for g in groups)


def epoch_class_counts(groups: list[np.ndarray] | None, y: np.ndarray, n_classes: int) -> np.ndarray | None:
    """Samples of each class in one epoch (what balanced class weights are computed from)."""
    if groups is None:
        return None
    counts = np.zeros(n_classes, np.int64)
    cap = _cap(groups)
    for g in groups:
        counts[int(np.asarray(y)[g[0]])] = min(len(g), cap)
    return counts


def epoch_samples(seed: int, epoch: int, n: int, groups: list[np.ndarray] | None) -> np.ndarray:
    """The shuffled sample indices of one epoch."""
    rng = np.random.default_rng([int(seed), int(epoch)])
    if groups is None:
        return rng.permutation(n)
    cap = _cap(groups)
    picked = []
    for c, g in enumerate(groups):
        if len(g) <= cap:
            picked.append(g)
            continue
        fixed = np.random.default_rng([int(seed), 1_000_003, c]).permutation(g)
        start = (int(epoch) * cap) % len(g)
        picked.append(np.take(fixed, np.arange(start, start + cap), mode="wrap"))
    return rng.permutation(np.concatenate(picked))


def epoch_order(seed: int, epoch: int, n: int, n_steps: int, batch: int,
                groups: list[np.ndarray] | None = None) -> np.ndarray:
    """Batch indices ``(n_steps, batch)`` of one epoch (the last incomplete batch dropped)."""
    perm = epoch_samples(seed, epoch, n, groups)
    return perm[: n_steps * batch].reshape(n_steps, batch).astype(np.int32)


__all__ = ["EPOCH_SAMPLINGS", "class_groups", "epoch_class_counts", "epoch_order", "epoch_samples", "epoch_size"]
