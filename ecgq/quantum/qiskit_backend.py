"""Qiskit backend: the same PennyLane circuits, converted through OpenQASM and run on Estimators.

Why this route: ecgq has a single circuit language (PennyLane). A circuit's tape is decomposed to
native rotations and CNOTs and exported with PennyLane's own OpenQASM bridge
(``qml.to_openqasm``), which Qiskit parses (``qiskit.qasm2.loads``). Every rotation angle then
becomes one element of a ``ParameterVector`` ("slot"), in tape order. ParameterVector elements
sort by index, so Qiskit's habit of ordering circuit parameters *by name* cannot scramble them (a
check asserts it). Slot values are computed from inputs and weights by the PennyLane templates
themselves (in JAX), so any input transformation (e.g. the Mottonen angles of AmplitudeEmbedding)
and its chain rule come for free.

The decomposition is always traced abstractly (under ``jax.jit``): PennyLane skips gates whose
angles are *concretely* zero, which would make the circuit's structure depend on the data.

Evaluation: Aer's ``EstimatorV2`` (exact expectation values) or Qiskit's reference
``StatevectorEstimator``. Gradients by the two-term parameter-shift rule, as Qiskit Machine
Learning does, with all parameter sets and shifts of a batch in ONE estimator call.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml

from ecgq.quantum import tape as tape_lib
from ecgq.quantum.circuits import CircuitSpec, check_inputs, stages, weight_shape

ESTIMATORS = ("aer", "reference")
# Gates exported as they are; anything else is decomposed until it reaches these.
NATIVE_GATES = frozenset({"RX", "RY", "RZ", "PhaseShift", "CNOT", "CZ", "SWAP", "Hadamard",
                          "PauliX", "PauliY", "PauliZ", "Identity"})
# Rotations whose generator has eigenvalues differing by 1: exact two-term shift rule with +-pi/2.
SHIFTABLE = frozenset({"RX", "RY", "RZ", "PhaseShift"})


def _native_operations(operations) -> list:
    """Decompose to :data:`NATIVE_GATES`, dropping global phases (invisible to measurements)."""
    result = []
    for op in operations:
        if op.name == "GlobalPhase":
            continue
        if op.name in NATIVE_GATES:
            result.append(op)
        elif op.has_decomposition:
            with qml.QueuingManager.stop_recording():
                parts = op.decomposition()
            result.extend(_native_operations(parts))
        else:
            raise NotImplementedError(f"cannot export {op.name} to Qiskit: no decomposition")
    return result


@dataclasses.dataclass(frozen=True)
class OpRecord:
    """Structure of one exported gate: name, wires, number of angles and the stage kind."""

    name: str
    wires: tuple[int, ...]
    n_params: int
    kind: str


def _slot_values(spec: CircuitSpec, inputs, weights, sink: list | None = None):
    """``(batch, n_slots)`` angles of the exported gates; records their structure into ``sink``."""
    batch = inputs.shape[0]
    columns = []
    for stage in stages(spec):
        values = inputs if stage.kind == "data" else weights
        ops = _native_operations(tape_lib.record(stage.fn, values).operations)
        for op in ops:
            if sink is not None:
                sink.append(OpRecord(op.name, tuple(int(w) for w in op.wires),
                                     len(op.parameters), stage.kind))
            for p in op.parameters:
                if op.name not in SHIFTABLE:
                    raise NotImplementedError(f"{op.name} has angles the shift rule cannot handle")
                columns.append(jnp.broadcast_to(jnp.asarray(p), (batch,)))
    dtype = jnp.result_type(inputs.dtype, weights.dtype, jnp.float32)
    if not columns:
        return jnp.zeros((batch, 0), dtype)
    return jnp.stack(columns, axis=-1).astype(dtype)


def _to_qiskit(records: list[OpRecord], n_qubits: int):
    """Export the gate structure through OpenQASM 2 and turn every angle into a Parameter."""
    import qiskit.qasm2
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector

    placeholders = [getattr(qml, r.name)(*([0.0] * r.n_params), wires=list(r.wires))
                    for r in records]
    qasm = qml.to_openqasm(qml.tape.QuantumScript(placeholders), wires=range(n_qubits),
                           rotations=False, measure_all=False)
    parsed = qiskit.qasm2.loads(qasm)
    n_slots = sum(r.n_params for r in records)
    theta = ParameterVector("theta", n_slots)
    circuit = QuantumCircuit(n_qubits)
    slot = 0
    for instruction in parsed.data:
        gate = instruction.operation.to_mutable()
        if gate.params:
            gate.params = [theta[slot + i] for i in range(len(gate.params))]
            slot += len(gate.params)
        circuit.append(gate, [parsed.find_bit(q).index for q in instruction.qubits])
    if slot != n_slots or list(circuit.parameters) != list(theta):
        raise RuntimeError(f"OpenQASM export changed the circuit's angles ({slot} vs {n_slots})")
    return circuit


def observables(spec: CircuitSpec) -> list:
    """SparsePauliOps of the measurement: Z per wire, or a projector per outcome for probs."""
    from qiskit.quantum_info import SparsePauliOp

    n = spec.n_qubits
    wires = spec.measured_wires
    if spec.measurement == "expval":
        return [SparsePauliOp.from_sparse_list([("Z", [w], 1.0)], n) for w in wires]
    result = []
    k = len(wires)
    for outcome in range(2 ** k):
        op = SparsePauliOp.from_sparse_list([("", [], 1.0)], n)
        for i, w in enumerate(wires):
            sign = 1.0 - 2.0 * ((outcome >> (k - 1 - i)) & 1)
            op = op.compose(SparsePauliOp.from_sparse_list([("", [], 0.5), ("Z", [w], 0.5 * sign)], n))
        result.append(op.simplify())
    return result


def make_estimator(kind: str = "aer"):
    """Aer's EstimatorV2 with exact expectation values, or Qiskit's reference StatevectorEstimator."""
    if kind == "aer":
        try:
            from qiskit_aer.primitives import EstimatorV2
        except ImportError as error:
            raise RuntimeError("the qiskit backend needs qiskit-aer: pip install 'ecgq[qiskit]'") from error
        return EstimatorV2(options={"default_precision": 0.0,
                                    "backend_options": {"method": "statevector"}})
    if kind == "reference":
        from qiskit.primitives import StatevectorEstimator

        return StatevectorEstimator()
    raise ValueError(f"estimator must be one of {ESTIMATORS}, got {kind!r}")


class QiskitProgram:
    """A circuit spec as one parameterised Qiskit circuit plus the map (inputs, weights) -> angles."""

    def __init__(self, spec: CircuitSpec, n_features: int, estimator: str = "aer"):
        self.spec = spec
        records: list[OpRecord] = []
        jax.eval_shape(functools.partial(_slot_values, spec, sink=records),
                       jax.ShapeDtypeStruct((1, n_features), jnp.float32),
                       jax.ShapeDtypeStruct(weight_shape(spec), jnp.float32))
        self.records = records
        self.slot_kinds = np.array([r.kind for r in records for _ in range(r.n_params)])
        self.weight_slots = np.flatnonzero(self.slot_kinds == "weights")
        self.circuit = _to_qiskit(records, spec.n_qubits)
        self.observables = observables(spec)
        self.estimator = make_estimator(estimator)
        self.slot_values = jax.jit(functools.partial(_slot_values, spec))

    @property
    def n_slots(self) -> int:
        return len(self.slot_kinds)

    def _run(self, parameter_sets: np.ndarray) -> np.ndarray:
        """Expectations for ``(..., n_slots)`` parameter sets, all in one estimator call."""
        params = parameter_sets[..., None, :]  # broadcast against the observables axis
        result = self.estimator.run([(self.circuit, self.observables, params)]).result()[0]
        return np.asarray(result.data.evs, dtype=np.float64)

    def evaluate_slots(self, slots: np.ndarray) -> np.ndarray:
        """``(batch, n_outputs)`` outputs for ``(batch, n_slots)`` angles."""
        return self._run(np.asarray(slots, np.float64))

    def shifted_evaluation(self, slots: np.ndarray, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Values ``(batch, n_outputs)`` and parameter-shift Jacobian ``(batch, n_outputs, len(which))``
        with respect to the slots ``which``; one estimator call for the base point and all shifts."""
        slots = np.asarray(slots, np.float64)
        m = len(which)
        shifts = np.zeros((1 + 2 * m, slots.shape[-1]))
        shifts[1 + np.arange(m), which] = np.pi / 2
        shifts[1 + m + np.arange(m), which] = -np.pi / 2
        evs = self._run(slots[:, None, :] + shifts[None])  # (batch, 1 + 2m, n_outputs)
        jac = 0.5 * (evs[:, 1:1 + m] - evs[:, 1 + m:])
        return evs[:, 0], np.transpose(jac, (0, 2, 1))

    def value_and_weight_jacobian(self, inputs, weights) -> tuple[np.ndarray, np.ndarray]:
        """Outputs and d outputs / d weights ``(batch, n_outputs, *weight_shape)``, shifting only the
        weight angles (as Qiskit ML's EstimatorQNN without input gradients)."""
        inputs = jnp.asarray(inputs)
        weights = jnp.asarray(weights)
        slots = np.asarray(self.slot_values(inputs, weights))
        values, jac_slots = self.shifted_evaluation(slots, self.weight_slots)
        # d slots / d weights does not depend on the inputs for weight slots: one sample suffices.
        d_slots = jax.jacobian(self.slot_values, argnums=1)(inputs[:1], weights)[0]
        d_slots = np.asarray(d_slots).reshape(self.n_slots, -1)[self.weight_slots]
        jac = np.einsum("bos,sp->bop", jac_slots, d_slots)
        return values, jac.reshape(jac.shape[:2] + tuple(weights.shape))


@functools.lru_cache(maxsize=32)
def program(spec: CircuitSpec, n_features: int, estimator: str = "aer") -> QiskitProgram:
    """Cached :class:`QiskitProgram` (building and exporting the circuit is done once)."""
    return QiskitProgram(spec, n_features, estimator)


def circuit_function(spec: CircuitSpec, estimator: str = "aer") -> Callable:
    """``f(inputs, weights)`` evaluated by a Qiskit Estimator, differentiable with JAX (parameter
    shift through a callback); for parity checks and benchmarks, not for training."""

    def f(inputs, weights):
        inputs = jnp.asarray(inputs)
        weights = jnp.asarray(weights)
        check_inputs(spec, inputs.shape)
        single = inputs.ndim == 1
        x = inputs[None] if single else inputs
        prog = program(spec, x.shape[-1], estimator)
        out = _differentiable_call(prog, x, weights)
        return out[0] if single else out

    return f


def _differentiable_call(prog: QiskitProgram, inputs, weights):
    dtype = jnp.result_type(inputs.dtype, weights.dtype, jnp.float32)
    n_out = prog.spec.n_outputs

    def host_values(slots):
        return prog.evaluate_slots(slots).astype(dtype)

    def host_jacobian(slots):
        _, jac = prog.shifted_evaluation(slots, np.arange(prog.n_slots))
        return jac.astype(dtype)

    @jax.custom_vjp
    def call(x, w):
        slots = prog.slot_values(x, w)
        shape = jax.ShapeDtypeStruct((x.shape[0], n_out), dtype)
        return jax.pure_callback(host_values, shape, slots, vmap_method="sequential")

    def fwd(x, w):
        return call(x, w), (x, w)

    def bwd(residuals, cotangent):
        x, w = residuals
        slots, slot_vjp = jax.vjp(prog.slot_values, x, w)
        shape = jax.ShapeDtypeStruct((x.shape[0], n_out, prog.n_slots), dtype)
        jac = jax.pure_callback(host_jacobian, shape, slots, vmap_method="sequential")
        return slot_vjp(jnp.einsum("bo,bos->bs", cotangent, jac).astype(slots.dtype))

    call.defvjp(fwd, bwd)
    return call(inputs, weights)
