"""Read gate matrices off PennyLane tapes.

Why: the JAX simulator must not re-describe circuits. It records each stage of a circuit on a
PennyLane tape (with the actual, possibly traced and batched, JAX values), decomposes templates
down to operations that have a matrix, and takes those matrices. Under ``jax.jit`` this happens
once, at trace time; the matrices themselves are JAX expressions, so gradients flow through them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import jax.numpy as jnp
import numpy as np
import pennylane as qml

# Gates whose matrix is real for real parameters (lets the simulator keep product states real).
REAL_GATES = frozenset({"RY", "CNOT", "CZ", "SWAP", "PauliX", "PauliZ", "Hadamard", "Identity"})
# Gates with no parameter whose matrix permutes basis states (a run of them is one gather).
PERMUTATION_GATES = frozenset({"CNOT", "SWAP", "Toffoli", "CSWAP", "PauliX", "MultiControlledX"})


@dataclasses.dataclass(frozen=True)
class Gate:
    """A unitary on ``wires``: ``matrix`` is ``(2**k, 2**k)`` or batched ``(batch, 2**k, 2**k)``.

    ``real`` records that the matrix is real-valued (its imaginary part is structurally zero);
    ``basis_map`` is set for gates that permute basis states: local basis state ``j`` of the result
    is local basis state ``basis_map[j]`` of the input (read from the constant matrix at trace time).
    """

    matrix: jnp.ndarray
    wires: tuple[int, ...]
    real: bool = False
    basis_map: tuple[int, ...] | None = None

    @property
    def batched(self) -> bool:
        return self.matrix.ndim == 3


def record(fn: Callable, *args) -> qml.tape.QuantumScript:
    """The tape of the operations ``fn(*args)`` queues."""
    return qml.tape.make_qscript(fn)(*args)


def primitive_operations(operations: Sequence[qml.operation.Operator]) -> list:
    """Decompose templates until every operation has a matrix (state preparations are kept whole).

    Decomposing does not queue anything: it is safe to call inside a QNode's quantum function.
    """
    result = []
    for op in operations:
        if isinstance(op, qml.operation.StatePrepBase) or op.has_matrix:
            result.append(op)
        elif op.has_decomposition:
            with qml.QueuingManager.stop_recording():
                parts = op.decomposition()
            result.extend(primitive_operations(parts))
        else:
            raise NotImplementedError(f"{op.name} has neither a matrix nor a decomposition")
    return result


def to_gate(op: qml.operation.Operator, dtype) -> Gate:
    """The :class:`Gate` of one primitive operation, as a JAX array of complex ``dtype``."""
    matrix = op.matrix()
    basis_map = None
    if op.name in PERMUTATION_GATES:
        local = np.asarray(matrix).real.round().astype(int)
        basis_map = tuple(int(j) for j in local.argmax(axis=1))
    return Gate(jnp.asarray(matrix, dtype=dtype), tuple(int(w) for w in op.wires), op.name in REAL_GATES,
                basis_map)


def fuse_single_qubit(gates: Sequence[Gate]) -> list[Gate]:
    """Multiply runs of single-qubit gates on the same wire into one gate.

    Why: the trainable layers are mostly single-qubit rotations (RY then RZ, or Rot); fusing them
    halves the number of passes over the state without changing the result. A pending gate is
    flushed when a multi-qubit gate touches its wire, so the order of non-commuting gates is kept.
    """
    pending: dict[int, Gate] = {}
    out: list[Gate] = []
    for gate in gates:
        if len(gate.wires) == 1:
            wire = gate.wires[0]
            if wire in pending:
                prev = pending[wire]
                pending[wire] = Gate(gate.matrix @ prev.matrix, gate.wires, gate.real and prev.real)
            else:
                pending[wire] = gate
            continue
        for wire in gate.wires:
            if wire in pending:
                out.append(pending.pop(wire))
        out.append(gate)
    out.extend(pending[w] for w in sorted(pending))
    return out
