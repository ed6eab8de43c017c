"""Teacher logits, computed once per (teacher checkpoint, dataset, split) and cached on disk.

The teacher is by far the most expensive forward pass of a study; every student, seed and KD
setting reuses the same logits. The cache key is a content hash: of the teacher's parameters (so a
re-trained or differently fine-tuned teacher never reuses stale logits), of the split's inputs, and
of the split name. Files are written to a temporary name in the same folder and renamed, so an
interrupted write (even ``kill -9``) never leaves a truncated entry behind.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable

import jax
import numpy as np

from ecgq.atomic import write_atomic

log = logging.getLogger(__name__)


def fingerprint(*items) -> str:
    """SHA-256 over arrays (shape, dtype, bytes), pytrees of arrays, and JSON-able values."""
    digest = hashlib.sha256()
    for item in items:
        leaves = jax.tree_util.tree_leaves(item)
        if not leaves or not all(hasattr(leaf, "shape") for leaf in leaves):
            digest.update(json.dumps(item, sort_keys=True, default=str).encode())
            continue
        for leaf in leaves:
            array = np.ascontiguousarray(np.asarray(leaf))
            digest.update(f"{array.shape}{array.dtype}".encode())
            digest.update(array.tobytes())
    return digest.hexdigest()


def cache_path(cache_dir: str, teacher_id: str, dataset_id: str, split: str) -> str:
    key = hashlib.sha256(f"{teacher_id}|{dataset_id}|{split}".encode()).hexdigest()[:20]
    return os.path.join(cache_dir, f"teacher_logits_{split}_{key}.npy")


def cached_logits(
    cache_dir: str, teacher_id: str, dataset_id: str, split: str, compute: Callable[[], np.ndarray]
) -> tuple[np.ndarray, bool]:
    """``(logits, was_cached)``: load the cached logits, or run ``compute()`` once and store them."""
    path = cache_path(cache_dir, teacher_id, dataset_id, split)
    if os.path.exists(path):
        log.info("teacher logits for %s: cache hit %s", split, path)
        return np.load(path), True
    logits = np.asarray(compute(), dtype=np.float32)
    write_atomic(path, lambda handle: np.save(handle, logits))
    log.info("teacher logits for %s: computed once, cached at %s", split, path)
    return logits, False
