"""ecgq's fused statevector simulator: pure JAX, batched, jit/vmap/grad-compatible.

Why it is fast: in a variational model the trainable weights are shared by the whole batch, only
the encoding differs between samples, and most gates are single-qubit rotations or CNOTs. So

1. an angle encoding of ``|0...0>``, and the first trainable layer after it, are a *product
   state*: each sample's state is ``n`` two-vectors, built with no pass over ``2**n`` amplitudes;
2. a layer of single-qubit gates is applied as a few GEMMs (Kronecker products over groups of
   adjacent wires), a run of CNOTs as one gather, and a final run of CNOTs not at all (it
   permutes the probabilities, or the table of Z signs): :mod:`ecgq.quantum.gate_passes`;
3. for few qubits and large batches, the trainable block's unitary ``U`` (``2**n x 2**n``) is
   built once per step and applied to the batch as one matrix product ("unitary" method).

``method="auto"`` picks "unitary" or "gates" per weight stage by a cost model; data stages
(re-uploading) and blocks with batched gates always use "gates". Precision follows the inputs:
float32 -> complex64, float64 -> complex128.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pennylane as qml

from ecgq.quantum import tape as tape_lib
from ecgq.quantum.circuits import CircuitSpec, check_inputs, stages, z_signs
from ecgq.quantum.gate_passes import Passes, apply_gate  # noqa: F401  (apply_gate re-exported)

METHODS = ("auto", "unitary", "gates")


def _complex_dtype(real_dtype):
    return jnp.complex128 if jnp.dtype(real_dtype) == jnp.float64 else jnp.complex64


def apply_gates(state: jnp.ndarray, gates, n_qubits: int) -> jnp.ndarray:
    """Apply gates in order to a batched ``(batch, 2**n)`` state."""
    real = state.real.dtype
    passes = Passes(n_qubits, state.shape[0], _complex_dtype(real), real)
    passes.set_state(state)
    for gate in gates:
        passes.add(gate)
    return passes.final_state()


def block_unitary_transposed(gates, n_qubits: int, dtype) -> jnp.ndarray:
    """``U^T`` of a sequence of unbatched gates: so that ``states @ U^T`` applies ``U`` to each row.

    Built by applying the gates to the identity, its rows playing the role of a batch.
    """
    dim = 2 ** n_qubits
    return apply_gates(jnp.eye(dim, dtype=dtype), gates, n_qubits).astype(dtype)


# Cost of multiplying one amplitude by a D-long row of U, relative to one dense single-qubit layer
# of the "gates" path on one amplitude (2-core CPU, batch 4096: 8 qubits, 3 layers: "unitary" 22 ms
# vs "gates" 60 ms; 10 qubits: 318 vs 322 ms).
UNITARY_COST_RATIO = 1 / 450


def choose_method(method: str, gates, n_qubits: int, batch) -> str:
    """Per weight stage: "unitary" when building ``U`` (the gates applied to a "batch" of ``D``
    basis states) and one ``B x D x D`` product cost less than the dense layers applied to the batch.

    Dense layers are those the "gates" path cannot keep factored: single-qubit layers after the
    first one (which folds into the product state) and non-permutation multi-qubit gates (each a
    pass of its own, counted as half a layer). With ``L`` of them and ``r`` the GEMM's relative cost
    per amplitude (:data:`UNITARY_COST_RATIO`): ``L D^2 + r B D^2 < L B D``.
    """
    if method != "auto":
        return method
    if not isinstance(batch, int):  # a symbolic batch (jax.export): no size to weigh, both are exact
        return "gates"
    dim = 2 ** n_qubits
    singles = sum(1 for g in gates if len(g.wires) == 1)
    others = sum(1 for g in gates if len(g.wires) > 1 and g.basis_map is None)
    layers = max(0, singles - n_qubits) / n_qubits + others / 2
    return "unitary" if dim * (layers + UNITARY_COST_RATIO * batch) < layers * batch else "gates"


def _stage_gates(stage, values, dtype) -> tuple[list, list]:
    ops = tape_lib.primitive_operations(tape_lib.record(stage.fn, values).operations)
    preps = [op for op in ops if isinstance(op, qml.operation.StatePrepBase)]
    gates = [tape_lib.to_gate(op, dtype) for op in ops
             if not isinstance(op, qml.operation.StatePrepBase)]
    return preps, tape_lib.fuse_single_qubit(gates)


def run_circuit(spec: CircuitSpec, inputs: jnp.ndarray, weights: jnp.ndarray,
                method: str = "auto") -> Passes:
    """The circuit applied to a batch of ``inputs`` ``(batch, n_features)``, as :class:`Passes`
    (pending work still lazy: read it with ``final_state`` or ``probabilities_before_permutation``)."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    n = spec.n_qubits
    batch = inputs.shape[0]
    real_dtype = jnp.result_type(inputs.dtype, weights.dtype, jnp.float32)
    cdtype = _complex_dtype(real_dtype)
    passes = Passes(n, batch, cdtype, real_dtype)
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
            passes.set_state(state)
        if stage.kind == "weights" and not any(g.batched for g in gates) and \
                choose_method(method, gates, n, batch) == "unitary":
            passes.add_unitary_transposed(block_unitary_transposed(gates, n, cdtype))
            continue
        for gate in gates:
            passes.add(gate)
    return passes


def final_state(spec: CircuitSpec, inputs: jnp.ndarray, weights: jnp.ndarray, method: str = "auto"):
    """The final states of a batch, as ``(real, imag)`` arrays of shape ``(batch, 2**n)``.

    ``inputs`` must be batched ``(batch, n_features)``.
    """
    state = run_circuit(spec, inputs, weights, method).final_state()
    if jnp.iscomplexobj(state):
        return jnp.real(state), jnp.imag(state)
    return state, jnp.zeros_like(state)


def final_probabilities(spec: CircuitSpec, inputs: jnp.ndarray, weights: jnp.ndarray,
                        method: str = "auto") -> jnp.ndarray:
    """``(batch, 2**n)`` computational-basis probabilities of the final states."""
    probs, source = run_circuit(spec, inputs, weights, method).probabilities_before_permutation()
    return (probs if source is None else probs[jnp.asarray(source)]).T


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
    if spec.measurement == "expval":
        probs, source = run_circuit(spec, batched_inputs, weights, method).probabilities_before_permutation()
        # <Z> of permuted probabilities = the unpermuted ones against permuted signs: no gather.
        signs = z_signs(spec.n_qubits, spec.measured_wires)
        if source is not None:
            signs = signs[np.argsort(source)]
        out = (jnp.asarray(signs.T, probs.dtype) @ probs).T
    else:
        out = measure_probabilities(spec, final_probabilities(spec, batched_inputs, weights, method))
    return out[0] if single else out
