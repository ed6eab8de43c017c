"""NISQ realism for evaluating trained circuits: finite shots and noise channels.

Why here and not in the training path: exact expectations are what one trains with; these
functions answer "what would this circuit report on a noisy device with N shots?".

- **Shots**: outcomes are drawn from the exact (or noisy) basis distribution with an explicit PRNG
  key (``jax.random.multinomial``), and the measurement is estimated from the frequencies, so <Z>
  estimates of different wires come from the same shots, as on hardware.
- **Noise**: a density-matrix simulation where every gate of the circuit (PennyLane's primitive
  gates, not fused) is followed, on each of its wires, by a depolarising channel and then an
  amplitude-damping channel, with Kraus matrices taken from PennyLane's own channel classes. This is
  the model ``default.mixed`` runs when the same channels are inserted after every gate.
  A state preparation (amplitude encoding) is taken as noiseless.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml

from ecgq.quantum import jax_sim
from ecgq.quantum import tape as tape_lib
from ecgq.quantum.circuits import CircuitSpec, check_inputs, stages


def kraus_operators(depolarizing: float, amplitude_damping: float) -> list[np.ndarray]:
    """Per-wire channels after each gate, as lists of Kraus matrices (identity channels omitted)."""
    for name, p in (("depolarizing", depolarizing), ("amplitude_damping", amplitude_damping)):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
    channels = []
    if depolarizing:
        channels.append(np.stack(qml.DepolarizingChannel.compute_kraus_matrices(depolarizing)))
    if amplitude_damping:
        channels.append(np.stack(qml.AmplitudeDamping.compute_kraus_matrices(amplitude_damping)))
    return channels


def _apply_unitary(rho, gate: tape_lib.Gate, n: int):
    """rho -> G rho G^dagger on a batched density tensor (rows are wires 0..n-1, columns n..2n-1)."""
    rho = jax_sim.apply_gate(rho, gate, 2 * n)
    conj = tape_lib.Gate(jnp.conj(gate.matrix), tuple(w + n for w in gate.wires))
    return jax_sim.apply_gate(rho, conj, 2 * n)


def _depolarize(rho, p: float, wire: int, n: int):
    """PennyLane's ``DepolarizingChannel(p)`` on one wire in closed form: ``(1-p) rho + p/3 (X rho X +
    Y rho Y + Z rho Z) = (1 - 4p/3) rho + (2p/3) I_w (x) Tr_w rho`` (one partial trace instead of four
    Kraus products, which made the density-matrix evaluation several times slower)."""
    axes = rho.ndim - 2 * n  # leading batch axes
    row, col = axes + wire, axes + n + wire
    traced = jnp.trace(rho, axis1=row, axis2=col)  # (batch, ... without the wire's two axes)
    eye = jnp.eye(2, dtype=rho.dtype)
    mixed = jnp.expand_dims(traced, (row, col)) * jnp.expand_dims(eye, tuple(
        i for i in range(rho.ndim) if i not in (row, col)))
    return (1.0 - 4.0 * p / 3.0) * rho + (2.0 * p / 3.0) * mixed


def _apply_channel(rho, kraus: np.ndarray, wire: int, n: int):
    """rho -> sum_k K rho K^dagger on one wire."""
    out = 0.0
    for k in kraus:
        out = out + _apply_unitary(rho, tape_lib.Gate(jnp.asarray(k, rho.dtype), (wire,)), n)
    return out


def density_probabilities(spec: CircuitSpec, inputs, weights, depolarizing: float = 0.0,
                          amplitude_damping: float = 0.0) -> jnp.ndarray:
    """``(batch, 2**n)`` basis probabilities of the noisy circuit (density-matrix simulation)."""
    n = spec.n_qubits
    dim = 2 ** n
    batch = inputs.shape[0]
    real_dtype = jnp.result_type(inputs.dtype, weights.dtype, jnp.float32)
    cdtype = jnp.complex128 if real_dtype == jnp.float64 else jnp.complex64
    channels = kraus_operators(0.0, amplitude_damping)  # depolarising noise: closed form (_depolarize)
    kraus_operators(depolarizing, 0.0)  # validates the probability
    rho = jnp.zeros((batch, dim, dim), cdtype).at[:, 0, 0].set(1.0)
    rho = rho.reshape((batch,) + (2,) * (2 * n))
    for stage in stages(spec):
        values = inputs if stage.kind == "data" else weights
        for op in tape_lib.primitive_operations(tape_lib.record(stage.fn, values).operations):
            if isinstance(op, qml.operation.StatePrepBase):
                psi = jnp.asarray(op.state_vector(wire_order=list(range(n))), cdtype)
                psi = jnp.broadcast_to(psi.reshape(-1, dim), (batch, dim))
                rho = (psi[:, :, None] * jnp.conj(psi)[:, None, :]).reshape(rho.shape)
                continue
            rho = _apply_unitary(rho, tape_lib.to_gate(op, cdtype), n)
            for wire in op.wires:
                if depolarizing:
                    rho = _depolarize(rho, depolarizing, int(wire), n)
                for kraus in channels:
                    rho = _apply_channel(rho, kraus, int(wire), n)
    diagonal = jnp.diagonal(rho.reshape(batch, dim, dim), axis1=1, axis2=2)
    return jnp.real(diagonal).astype(real_dtype)


def sample_frequencies(key: jax.Array, probs: jnp.ndarray, shots: int) -> jnp.ndarray:
    """Empirical outcome frequencies of ``shots`` draws per row of ``probs`` ``(batch, 2**n)``."""
    if shots <= 0:
        raise ValueError(f"shots must be positive, got {shots}")
    probs = jnp.clip(probs, 0.0, None)
    probs = probs / probs.sum(axis=-1, keepdims=True)
    counts = jax.random.multinomial(key, shots, probs, dtype=probs.dtype)
    return counts / shots


def nisq_outputs(spec: CircuitSpec, inputs, weights, *, shots: int = 0, key: jax.Array | None = None,
                 depolarizing: float = 0.0, amplitude_damping: float = 0.0) -> jnp.ndarray:
    """The circuit's outputs under noise and/or finite shots (``shots=0``: exact expectations).

    ``inputs`` are ``(n_features,)`` or ``(batch, n_features)``; ``key`` is required when
    ``shots > 0``.
    """
    inputs = jnp.asarray(inputs)
    weights = jnp.asarray(weights)
    check_inputs(spec, inputs.shape)
    single = inputs.ndim == 1
    x = inputs[None] if single else inputs
    if depolarizing or amplitude_damping:
        probs = density_probabilities(spec, x, weights, depolarizing, amplitude_damping)
    else:
        probs = jax_sim.final_probabilities(spec, x, weights)
    if shots:
        if key is None:
            raise ValueError("finite-shot evaluation needs a PRNG key")
        probs = sample_frequencies(key, probs, shots)
    out = jax_sim.measure_probabilities(spec, probs)
    return out[0] if single else out
