"""Classical controls of quantum layers: a small dense layer with a circuit's parameter count.

Why: a quantum student's score says nothing about the circuit unless the same model with the
circuit swapped for an equally small classical layer is scored beside it. The control takes the
circuit's inputs (the angles), has as nearly as widths allow its number of trainable parameters,
and gives outputs of its shape and range (one value in ``[-1, 1]`` per measurement, like ``<Z>``).
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp


class MatchedDense(nn.Module):
    """``(batch, n_in)`` -> ``tanh(dense(tanh(dense(x))))`` of shape ``(batch, n_out)`` in [-1, 1]."""

    n_out: int
    hidden: int

    @nn.compact
    def __call__(self, angles: jax.Array) -> jax.Array:
        h = jnp.tanh(nn.Dense(self.hidden, name="hidden")(angles))
        return jnp.tanh(nn.Dense(self.n_out, name="out")(h))


def matched_dense_params(n_in: int, n_out: int, hidden: int) -> int:
    """Trainable weights of :class:`MatchedDense` (both layers with biases)."""
    return hidden * (n_in + 1) + n_out * (hidden + 1)


def matched_hidden(n_in: int, n_out: int, target: int) -> int:
    """The hidden width whose :class:`MatchedDense` count is nearest ``target`` (smaller on a tie)."""
    return min(range(1, max(2, target) + 1),
               key=lambda h: (abs(matched_dense_params(n_in, n_out, h) - target), h))
