"""Shared helpers for the quantum tests: random circuit problems (``x64`` is in tests/conftest.py)."""

from __future__ import annotations

import numpy as np
import pytest

from ecgq.quantum.circuits import CircuitSpec, weight_shape


@pytest.fixture
def make_problem():
    """The :func:`random_problem` factory, as a fixture (test modules do not import each other)."""
    return random_problem


def random_problem(spec: CircuitSpec, batch: int, seed: int = 0, dtype=np.float64):
    """Random inputs ``(batch, n_features)`` and weights for ``spec`` (numpy, so any backend can
    take them)."""
    rng = np.random.default_rng(seed)
    n_features = spec.n_features if spec.encoding != "amplitude" else max(1, spec.n_features - 1)
    inputs = rng.uniform(-np.pi, np.pi, size=(batch, n_features)).astype(dtype)
    weights = rng.uniform(-np.pi, np.pi, size=weight_shape(spec)).astype(dtype)
    return inputs, weights
