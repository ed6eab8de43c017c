"""Classical controls of quantum layers: a small dense layer with a circuit's parameter count.

Why: a quantum student's score says nothing about the circuit unless the same model with the
circuit swapped for an equally small classical layer is scored beside it. The control takes the
circuit's inputs (the angles), has as nearly as widths allow its number of trainable parameters,
and gives outputs of its shape and range (one value in ``[-1, 1]`` per measurement, like ``<Z>``).
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections


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


# --- the circuit of an angle-fed hybrid (nisq_vqc, snn_vqc) and the width of its control ----------


def angle_circuit_spec(cfg: ml_collections.ConfigDict):
    """The :class:`ecgq.quantum.CircuitSpec` of a hybrid whose angle map feeds one angle per qubit
    (``n_qubits``, ``n_layers``, ``encoding``, ``rotation``, ``block`` of ``cfg``; ``<Z>`` of every
    qubit). Its control's config names only the circuit it matches, so encoding and rotation default."""
    from ecgq.quantum.circuits import CircuitSpec

    return CircuitSpec(n_qubits=int(cfg.n_qubits), n_layers=int(cfg.n_layers),
                       encoding=cfg.get("encoding", "reupload"), rotation=cfg.get("rotation", "Y"),
                       block=cfg.block, measurement="expval")


def circuit_params(cfg: ml_collections.ConfigDict) -> int:
    """Trainable angles of the circuit ``cfg`` describes (a control's config: the circuit it matches)."""
    from ecgq.quantum.circuits import weight_shape

    return math.prod(weight_shape(angle_circuit_spec(cfg)))


def control_hidden(cfg: ml_collections.ConfigDict) -> int:
    """Hidden width of a control's classical layer: ``hidden``, or 0 = nearest the circuit's count."""
    q = int(cfg.n_qubits)
    return int(cfg.hidden) or matched_hidden(q, q, circuit_params(cfg))
