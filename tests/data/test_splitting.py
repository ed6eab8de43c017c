"""Group holdouts: whole groups, every class covered where possible, fraction respected, seeded."""

from __future__ import annotations

import numpy as np

from ecgq.data.splitting import choose_holdout_groups, counts_by_group


def test_covers_every_class_without_taking_dominant_groups():
    groups = [f"g{i}" for i in range(10)]
    counts = np.zeros((10, 3))
    counts[:, 0] = 100
    counts[1, 1], counts[2, 1], counts[3, 1] = 50, 5, 3  # g1 dominates class 1
    counts[4, 2], counts[5, 2] = 20, 2                    # g4 dominates class 2
    for seed in range(5):
        held = choose_holdout_groups(groups, counts, 0.2, seed)
        assert len(held) == 2
        idx = [groups.index(g) for g in held]
        assert (counts[idx] > 0).any(axis=0).all()  # each class in some held-out group
        assert "g1" not in held and "g4" not in held


def test_fraction_seed_and_small_inputs():
    groups = [f"g{i}" for i in range(20)]
    counts = np.ones((20, 2))
    a = choose_holdout_groups(groups, counts, 0.25, 3)
    assert len(a) == 5 and a == choose_holdout_groups(groups, counts, 0.25, 3)
    assert {tuple(choose_holdout_groups(groups, counts, 0.25, s)) for s in range(5)} != {tuple(a)}
    assert choose_holdout_groups(["only"], np.ones((1, 2)), 0.5, 0) == []
    assert choose_holdout_groups(groups, counts, 0.0, 0) == []


def test_counts_by_group_single_and_multilabel():
    groups, counts = counts_by_group(np.array(["b", "a", "b"]), np.array([0, 1, 1]), 2)
    assert groups == ["a", "b"] and counts.tolist() == [[0, 1], [1, 1]]
    _, multi = counts_by_group(np.array(["a", "a"]), np.array([[1, 1], [0, 1]]), 2)
    assert multi.tolist() == [[1, 2]]
