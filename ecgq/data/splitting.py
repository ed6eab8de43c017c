"""Group-disjoint, seeded, stratified-as-far-as-possible splits shared by the loaders."""

from __future__ import annotations

import numpy as np


def choose_holdout_groups(groups: list[str], group_counts: np.ndarray, fraction: float,
                          seed: int) -> list[str]:
    """Pick whole groups (records or patients) for a held-out split.

    ``group_counts`` is (n_groups, n_classes). Rarest classes first, one random group holding the
    class goes to the holdout whenever another group keeps the class in the remainder (never a
    group holding most of some class, so training keeps the bulk of rare classes); then random
    non-dominant groups are added until ``fraction`` of groups is reached (the holdout may exceed it when covering
every class needs more groups). Deterministic given ``seed``.
    """
    rng = np.random.default_rng(seed)
    n_groups = len(groups)
    target = max(1, int(round(fraction * n_groups))) if fraction > 0 else 0
    if target == 0 or n_groups < 2:
        return []
    target = min(target, n_groups - 1)
    chosen: list[int] = []
    order = np.argsort(group_counts.sum(axis=0), kind="stable")
    tops = set(int(g) for g in np.argmax(group_counts, axis=0)[group_counts.sum(axis=0) > 0])
    for c in order:  # class coverage wins over the fraction: a holdout lacking a class is useless
        holders = [g for g in np.nonzero(group_counts[:, c] > 0)[0] if g not in chosen]
        if any(group_counts[g, c] > 0 for g in chosen) or len(holders) < 2:
            continue
        top = int(np.argmax(group_counts[:, c]))
        candidates = [g for g in holders if g != top and g not in tops] or [g for g in holders if g != top]
        chosen.append(int(rng.choice(candidates)))
    # Fill randomly, taking groups that hold most of some class only as a last resort.
    perm = [int(g) for g in rng.permutation(n_groups) if g not in chosen]
    rest = [g for g in perm if g not in tops] + [g for g in perm if g in tops]
    chosen += [int(g) for g in rest[: max(0, target - len(chosen))]]
    return [groups[g] for g in sorted(chosen)]


def counts_by_group(group_of_item: np.ndarray, labels: np.ndarray, n_classes: int):
    """(unique groups, (n_groups, n_classes) counts); ``labels`` int (n,) or multi-hot (n, c)."""
    groups, inverse = np.unique(group_of_item, return_inverse=True)
    onehot = labels if labels.ndim == 2 else np.eye(n_classes)[labels]
    counts = np.zeros((len(groups), n_classes))
    np.add.at(counts, inverse, onehot)
    return list(groups), counts
