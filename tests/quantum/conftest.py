"""Shared helpers for the quantum tests: float64 on demand and random circuit problems."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from ecgq.quantum.circuits import CircuitSpec, weight_shape


@pytest.fixture
def x64():
    """Run the test with 64-bit JAX (restored afterwards, so other tests keep float32).

    The global flag rather than the ``jax.enable_x64`` context: the context is thread-local, and
    PennyLane's lightning callbacks run on another thread, where they would produce float32.
    """
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        jax.config.update("jax_enable_x64", previous)


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
