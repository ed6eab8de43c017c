"""Teacher logits are computed once per (teacher, dataset, split) and reused from disk."""

from __future__ import annotations

import os

import numpy as np

from ecgq.distill import teacher_cache


def test_computed_once_then_cached(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return np.arange(6, dtype=np.float32).reshape(3, 2)

    params = {"w": np.ones((2, 2), np.float32)}
    teacher_id = teacher_cache.fingerprint(params)
    data_id = teacher_cache.fingerprint(np.zeros((3, 4), np.float32), "mitbih")
    a, hit_a = teacher_cache.cached_logits(str(tmp_path), teacher_id, data_id, "train", compute)
    b, hit_b = teacher_cache.cached_logits(str(tmp_path), teacher_id, data_id, "train", compute)
    assert (hit_a, hit_b) == (False, True) and len(calls) == 1
    np.testing.assert_array_equal(a, b)
    # Another split, or another teacher, is another entry.
    teacher_cache.cached_logits(str(tmp_path), teacher_id, data_id, "val", compute)
    other = teacher_cache.fingerprint({"w": np.zeros((2, 2), np.float32)})
    assert other != teacher_id
    teacher_cache.cached_logits(str(tmp_path), other, data_id, "train", compute)
    assert len(calls) == 3
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".tmp_")]
