"""ecgq's fused statevector simulator: pure JAX, batched, jit/vmap/grad-compatible.

Why it is fast: in a variational model the trainable weights are shared by the whole batch, only
the encoding differs between samples. So

1. an angle encoding of ``|0...0>`` is a *product state*: each sample's state is the Kronecker
   product of ``n`` two-vectors (real for RY), built with no gate application at all;
2. the trainable block's unitary ``U`` (``2**n x 2**n``) is built once per step from the gates on
   the PennyLane tape and applied to the whole batch as one matrix product (split into real and
   imaginary parts when the encoded states are real, which turns complex into real GEMMs);
3. measurements are one more product with a table of Z eigenvalues.

Where building ``U`` costs more than applying the gates to the batch (many qubits, small batches)
or a data stage follows an entangling block (data re-uploading), gates are applied to the batched
state directly ("gates" method). ``method="auto"`` picks per stage by a simple cost model.
Precision follows the inputs: float32 -> complex64, float64 -> complex128.
"""

from __future__ import annotations

import string

import jax.numpy as jnp
import pennylane as qml

from ecgq.quantum import tape as tape_lib
from ecgq.quantum.circuits import CircuitSpec, check_inputs, stages, z_signs

METHODS = ("auto", "unitary", "gates")


def _complex_dtype(real_dtype):
    return jnp.complex128 if jnp.dtype(real_dtype) == jnp.float64 else jnp.complex64


def apply_gate(state: jnp.ndarray, gate: tape_lib.Gate, n_qubits: int) -> jnp.ndarray:
    """Apply ``gate`` to a batched state of shape ``(batch, 2, ..., 2)`` (one axis per wire)."""
    letters = string.ascii_letters
    batch = "Z"
    qubit = letters[:n_qubits]
    k = len(gate.wires)
    outs = "".join(letters[n_qubits + i] for i in range(k))
    ins = "".join(qubit[w] for w in gate.wires)
    result = list(qubit)
    for i, w in enumerate(gate.wires):
        result[w] = outs[i]
    matrix = gate.matrix.reshape(gate.matrix.shape[:-2] + (2,) * (2 * k))
    gate_idx = (batch if gate.batched else "") + outs + ins
    expr = f"{gate_idx},{batch}{qubit}->{batch}{''.join(result)}"
    return jnp.einsum(expr, matrix, state)


def apply_gates(state: jnp.ndarray, gates, n_qubits: int) -> jnp.ndarray:
    """Apply gates in order to a batched ``(batch, 2**n)`` state."""
    batch = state.shape[0]
    tensor = state.reshape((batch,) + (2,) * n_qubits)
    for gate in gates:
        tensor = apply_gate(tensor, gate, n_qubits)
    return tensor.reshape(batch, 2 ** n_qubits)


def block_unitary_transposed(gates, n_qubits: int, dtype) -> jnp.ndarray:
    """``U^T`` of a sequence of unbatched gates: so that ``states @ U^T`` applies ``U`` to each row.

    Built by applying the gates to the identity, its rows playing the role of a batch.
    """
    dim = 2 ** n_qubits
    return apply_gates(jnp.eye(dim, dtype=dtype), gates, n_qubits)


def product_state(gates, n_qubits: int, batch: int, real: bool, dtype) -> jnp.ndarray:
    """``(batch, 2**n)`` state of single-qubit gates (at most one per wire, fused) applied to |0..0>."""
    by_wire = {g.wires[0]: g for g in gates}
    state = None
    for wire in range(n_qubits):
        if wire in by_wire:
            column = by_wire[wire].matrix[..., :, 0]
            column = jnp.broadcast_to(column, (batch, 2))
        else:
            column = jnp.broadcast_to(jnp.array([1.0, 0.0], dtype), (batch, 2))
        column = jnp.real(column) if real else column.astype(dtype)
        state = column if state is None else (state[:, :, None] * column[:, None, :]).reshape(batch, -1)
    return state


def choose_method(method: str, n_gates: int, n_qubits: int, batch: int) -> str:
    """Per weight stage: build the unitary when its cost (D*D*G build + B*D*D apply) is at most a
    few times the cost of applying the G gates to the batch (B*D*G); GEMMs run far more efficiently
    than chains of small contractions, hence the factor."""
    if method != "auto":
        return method
    if not isinstance(batch, int):  # a symbolic batch (jax.export): no size to weigh, both are exact
        return "gates"
    dim = 2 ** n_qubits
    return "unitary" if dim * (n_gates + batch) <= 4 * batch * n_gates else "gates"


def _stage_gates(stage, values, dtype) -> tuple[list, list]:
    ops = tape_lib.primitive_operations(tape_lib.record(stage.fn, values).operations)
    preps = [op for op in ops if isinstance(op, qml.operation.StatePrepBase)]
    gates = [tape_lib.to_gate(op, dtype) for op in ops
             if not isinstance(op, qml.operation.StatePrepBase)]
    return preps, tape_lib.fuse_single_qubit(gates)


def final_state(spec: CircuitSpec, inputs: jnp.ndarray, weights: jnp.ndarray, method: str = "auto"):
    """The final states of a batch, as ``(real, imag)`` arrays of shape ``(batch, 2**n)``.

    ``inputs`` must be batched ``(batch, n_features)``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    n = spec.n_qubits
    batch = inputs.shape[0]
    real_dtype = jnp.result_type(inputs.dtype, weights.dtype, jnp.float32)
    cdtype = _complex_dtype(real_dtype)
    state = None  # complex (batch, D), or real (batch, D) while it is known to be real
    for index, stage in enumerate(stages(spec)):
        values = inputs if stage.kind == "data" else weights
        preps, gates = _stage_gates(stage, values, cdtype)
        if preps:
            if index != 0 or len(preps) != 1:
                raise NotImplementedError("state preparation is supported only as the first operation")
            state = jnp.asarray(preps[0].state_vector(wire_order=list(range(n))), dtype=cdtype)
            state = jnp.broadcast_to(state.reshape(-1, 2 ** n), (batch, 2 ** n))
            if jnp.issubdtype(inputs.dtype, jnp.floating):
                state = jnp.real(state).astype(real_dtype)  # normalised real features: a real state
            if gates:
                state = apply_gates(state.astype(cdtype), gates, n)
            continue
        if state is None:
            if all(len(g.wires) == 1 for g in gates):
                state = product_state(gates, n, batch, all(g.real for g in gates), cdtype)
                if not jnp.iscomplexobj(state):
                    state = state.astype(real_dtype)
                continue
            state = jnp.zeros((batch, 2 ** n), cdtype).at[:, 0].set(1.0)
        if stage.kind == "weights" and not any(g.batched for g in gates) and \
                choose_method(method, len(gates), n, batch) == "unitary":
            u_t = block_unitary_transposed(gates, n, cdtype)
            if not jnp.iscomplexobj(state):
                # Real states: two real GEMMs in one (concatenated real and imaginary parts).
                both = state @ jnp.concatenate([jnp.real(u_t), jnp.imag(u_t)], axis=1)
                state = both[:, : 2 ** n] + 1j * both[:, 2 ** n:]
            else:
                state = state @ u_t
            continue
        state = apply_gates(state.astype(cdtype), gates, n)
    if state is None:
        state = jnp.zeros((batch, 2 ** n), cdtype).at[:, 0].set(1.0)
    if jnp.iscomplexobj(state):
        return jnp.real(state), jnp.imag(state)
    return state, jnp.zeros_like(state)


def probabilities(spec: CircuitSpec, re: jnp.ndarray, im: jnp.ndarray) -> jnp.ndarray:
    """``(batch, 2**n)`` computational-basis probabilities."""
    return re * re + im * im


def measure_probabilities(spec: CircuitSpec, probs: jnp.ndarray) -> jnp.ndarray:
    """Turn full basis probabilities into the spec's measurement: <Z> per wire or marginal probs."""
    n = spec.n_qubits
    wires = spec.measured_wires
    if spec.measurement == "expval":
        signs = jnp.asarray(z_signs(n, wires), probs.dtype)
        return probs @ signs
    batch = probs.shape[0]
    tensor = probs.reshape((batch,) + (2,) * n)
    others = tuple(1 + w for w in range(n) if w not in wires)
    marginal = tensor.sum(axis=others) if others else tensor
    kept = sorted(wires)
    order = [1 + kept.index(w) for w in wires]
    marginal = jnp.transpose(marginal, [0] + order)
    return marginal.reshape(batch, 2 ** len(wires))


def simulate(spec: CircuitSpec, inputs, weights, method: str = "auto") -> jnp.ndarray:
    """Circuit outputs for ``inputs`` ``(n_features,)`` or ``(batch, n_features)`` and ``weights``.

    Returns ``(n_outputs,)`` or ``(batch, n_outputs)`` in the inputs' real precision.
    """
    inputs = jnp.asarray(inputs)
    weights = jnp.asarray(weights)
    check_inputs(spec, inputs.shape)
    single = inputs.ndim == 1
    batched_inputs = inputs[None] if single else inputs
    re, im = final_state(spec, batched_inputs, weights, method)
    out = measure_probabilities(spec, probabilities(spec, re, im))
    return out[0] if single else out
