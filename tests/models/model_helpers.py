"""Helpers the model tests import (``tests/models`` is on ``sys.path`` under pytest)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def random_params(module, input_shape=(256, 1), seed: int = 0, scale: float = 0.05):
    """Random ``params`` of ``module`` from ``jax.eval_shape`` of its init: no init compilation.

    Compiling Net1D's init costs ~10 s of XLA:CPU time (its random initialisers), the forward pass
    a fraction of that; tests that only need *some* weights use these.
    """
    shapes = jax.eval_shape(module.init, jax.random.key(0), jnp.zeros((1, *input_shape)))
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda s: jnp.asarray(rng.normal(0.0, scale, s.shape), s.dtype),
                        shapes["params"])
