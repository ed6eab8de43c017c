"""Teacher logits are computed once per (teacher, dataset, split) and reused from disk."""

from __future__ import annotations

import os

import numpy as np
import pytest

from ecgq.atomic import TMP_PREFIX
from ecgq.distill import teacher_cache


def _ids():
    teacher_id = teacher_cache.fingerprint({"w": np.ones((2, 2), np.float32)})
    data_id = teacher_cache.fingerprint(np.zeros((3, 4), np.float32), "mitbih")
    return teacher_id, data_id


def _logits():
    return np.arange(6, dtype=np.float32).reshape(3, 2)


def test_computed_once_then_cached(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return _logits()

    teacher_id, data_id = _ids()
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
    names = sorted(os.listdir(tmp_path))
    assert len(names) == 3 and all(n.startswith("teacher_logits_") and n.endswith(".npy") for n in names)
    assert not [n for n in names if n.startswith(TMP_PREFIX)]


def test_temp_files_use_the_atomic_writers_prefix(tmp_path, monkeypatch):
    """The prefix checked above is the one the writer really uses (seen while a write is in flight)."""
    seen = []
    real_save = np.save

    def spying_save(handle, array):
        seen.extend(os.listdir(tmp_path))
        real_save(handle, array)

    monkeypatch.setattr(np, "save", spying_save)
    teacher_id, data_id = _ids()
    teacher_cache.cached_logits(str(tmp_path), teacher_id, data_id, "train", _logits)
    assert len(seen) == 1 and seen[0].startswith(TMP_PREFIX)
    assert not [n for n in os.listdir(tmp_path) if n.startswith(TMP_PREFIX)]


@pytest.mark.parametrize("error", [RuntimeError("device lost"), KeyboardInterrupt()])
def test_interrupted_compute_leaves_no_entry(tmp_path, error):
    def compute():
        raise error

    teacher_id, data_id = _ids()
    with pytest.raises(type(error)):
        teacher_cache.cached_logits(str(tmp_path), teacher_id, data_id, "train", compute)
    assert os.listdir(tmp_path) == []
    logits, hit = teacher_cache.cached_logits(str(tmp_path), teacher_id, data_id, "train", _logits)
    assert not hit
    np.testing.assert_array_equal(logits, _logits())


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_interrupted_write_leaves_no_temp_file_and_no_entry(tmp_path, monkeypatch, error):
    def half_save(handle, array):
        handle.write(b"\x93NUMPY partial")
        raise error

    monkeypatch.setattr(np, "save", half_save)
    teacher_id, data_id = _ids()
    with pytest.raises(type(error)):
        teacher_cache.cached_logits(str(tmp_path), teacher_id, data_id, "train", _logits)
    assert os.listdir(tmp_path) == []  # neither a truncated entry nor a temporary file
    monkeypatch.undo()
    calls = []
    logits, hit = teacher_cache.cached_logits(str(tmp_path), teacher_id, data_id, "train",
                                              lambda: calls.append(1) or _logits())
    assert not hit and calls == [1]  # recomputed: nothing half-written was taken for a hit
    np.testing.assert_array_equal(logits, _logits())
