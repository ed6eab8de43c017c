"""Apply a gate sequence to a batch of statevectors in a few large passes.

Why: at 8-12 qubits a batch of 4096 states is tens of megabytes, so the cost of a circuit is the
number of passes over it, not the arithmetic of each gate. Applying gate after gate (one einsum per
gate, the textbook way) makes one pass per gate: about ``3 n`` per layer of a hardware-efficient
ansatz. This module makes about three:

1. **Product states stay factored.** Until the first entangling gate, the state of each sample is
   one two-vector per wire; single-qubit gates (the encoding and the first trainable layer) update
   those vectors, which costs nothing at the size of the batch.
2. **Single-qubit layers become a few GEMMs.** Single-qubit gates on different wires commute, so
   a whole layer is collected and applied as Kronecker products over groups of up to five adjacent
   wires: one matrix product of the batched state per group (two groups up to 10 qubits).
3. **Permutation gates compose.** CNOT, SWAP, Toffoli and CSWAP only permute basis states: a whole
   CNOT ring is one gather (whose gradient is the inverse gather, not a scatter). A permutation left
   at the end of the circuit is never applied to the state: computational-basis probabilities are
   gathered instead, and <Z> folds it into the table of signs (see :class:`Passes`).

Other gates (CRX, CZ, gates with a batched matrix after entanglement) are applied one by one as
before. Results agree with gate-by-gate application to float rounding (tested against PennyLane).
"""

from __future__ import annotations

import dataclasses
import math
import string

import jax
import jax.numpy as jnp
import numpy as np

from ecgq.quantum.tape import Gate

MAX_GROUP_QUBITS = 5  # measured on CPU: groups of 5 at 10 qubits, of 4 at 8 and 12


def group_sizes(n_qubits: int) -> list[int]:
    """Balanced sizes of the adjacent-wire groups a single-qubit layer is applied in."""
    groups = math.ceil(n_qubits / MAX_GROUP_QUBITS)
    base, extra = divmod(n_qubits, groups)
    return [base + 1] * extra + [base] * (groups - extra)


def apply_gate(state: jnp.ndarray, gate: Gate, n_qubits: int) -> jnp.ndarray:
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


def _apply_one(state: jnp.ndarray, gate: Gate, n_qubits: int) -> jnp.ndarray:
    """One gate on a basis-major ``(2**n, batch)`` state (complex unless both are real)."""
    if jnp.iscomplexobj(gate.matrix) and not gate.real:
        state = state.astype(gate.matrix.dtype)
    matrix = jnp.real(gate.matrix) if not jnp.iscomplexobj(state) else gate.matrix
    letters = string.ascii_letters
    qubit = letters[:n_qubits]
    k = len(gate.wires)
    outs = "".join(letters[n_qubits + i] for i in range(k))
    result = list(qubit)
    for i, w in enumerate(gate.wires):
        result[w] = outs[i]
    matrix = matrix.reshape(matrix.shape[:-2] + (2,) * (2 * k))
    gate_idx = ("Z" if gate.batched else "") + outs + "".join(qubit[w] for w in gate.wires)
    expr = f"{gate_idx},{qubit}Z->{''.join(result)}Z"
    out = jnp.einsum(expr, matrix, state.reshape((2,) * n_qubits + (-1,)))
    return out.reshape(state.shape)


def permutation_source(gate: Gate, n_qubits: int) -> np.ndarray:
    """``source`` with ``new_state[..., i] = old_state[..., source[i]]`` for a permutation gate."""
    inverse_local = np.asarray(gate.basis_map)  # new local index j <- old local index inverse_local[j]
    k = len(gate.wires)
    index = np.arange(2 ** n_qubits)
    shifts = np.array([n_qubits - 1 - w for w in gate.wires])
    local_bits = (index[:, None] >> shifts[None]) & 1
    local_index = (local_bits << (k - 1 - np.arange(k))[None]).sum(axis=1)
    old_local = inverse_local[local_index]
    old_bits = (old_local[:, None] >> (k - 1 - np.arange(k))[None]) & 1
    cleared = index & ~np.bitwise_or.reduce(1 << shifts)
    return cleared | (old_bits << shifts[None]).sum(axis=1)


@jax.custom_vjp
def _gather(state: jnp.ndarray, source: jnp.ndarray, inverse: jnp.ndarray) -> jnp.ndarray:
    return jnp.take(state, source, axis=0)


def _gather_fwd(state, source, inverse):
    return jnp.take(state, source, axis=0), (source, inverse)


def _gather_bwd(residual, cotangent):
    source, inverse = residual
    return jnp.take(cotangent, inverse, axis=0), None, None


_gather.defvjp(_gather_fwd, _gather_bwd)


def permute_basis(state: jnp.ndarray, source: np.ndarray) -> jnp.ndarray:
    """``state[source]`` (basis axis first): whole rows of the batch move, and the gradient is the
    inverse gather where JAX would scatter-add."""
    source = np.asarray(source)
    inverse = np.argsort(source)
    return _gather(state, jnp.asarray(source, jnp.int32), jnp.asarray(inverse, jnp.int32))


def kron_columns(vectors: list[jnp.ndarray], batch) -> jnp.ndarray:
    """Kronecker product of per-wire ``(d_i, batch or 1)`` columns, per sample: ``(prod d_i, batch)``.

    Built as a balanced tree of outer products: a left-to-right chain's gradient passes over the
    growing partial products once per wire (8x slower at 10 qubits), and a many-operand einsum
    transposes the full-size array.
    """
    cols = [jnp.broadcast_to(v, (v.shape[0], batch)) for v in vectors]
    dtype = jnp.result_type(*cols)
    cols = [c.astype(dtype) for c in cols]
    while len(cols) > 1:
        pairs = [(a[:, None, :] * b[None, :, :]).reshape(-1, batch) for a, b in zip(cols[::2], cols[1::2])]
        cols = pairs + ([cols[-1]] if len(cols) % 2 else [])
    return cols[0]


def _kron_matrix(gates: list[Gate | None]) -> jnp.ndarray:
    out = None
    for gate in gates:
        m = jnp.eye(2) if gate is None else gate.matrix
        out = m if out is None else jnp.kron(out, m)
    return out


class Passes:
    """The state of a batch while gates are added, with pending work kept lazy.

    Invariant: the true state is ``permute(layer(state))``, where ``layer`` is the pending single-qubit
    gates (one per wire, applied first) and ``permute`` the pending permutation. ``factors`` holds the
    state while it is a product state (one ``(2, batch or 1)`` column per wire).

    Layout: basis-major, ``(2**n, batch)``, so that a permutation moves whole rows of the batch and
    a wire group's GEMM contracts a leading axis, with no transpose of the state. (Storing complex
    states as real and imaginary parts, to run real GEMMs, measured slower on XLA:CPU.)
    """

    def __init__(self, n_qubits: int, batch, complex_dtype, real_dtype):
        self.n = n_qubits
        self.batch = batch
        self.cdtype = complex_dtype
        self.rdtype = real_dtype
        self.factors: list[jnp.ndarray] | None = [jnp.array([[1.0], [0.0]], real_dtype)] * n_qubits
        self.state: jnp.ndarray | None = None  # (2**n, batch), real while every gate was real
        self.layer: dict[int, Gate] = {}
        self.source: np.ndarray | None = None  # pending permutation

    # -- adding gates --------------------------------------------------------------------------
    def set_state(self, state: jnp.ndarray) -> None:
        """Start from an explicit ``(batch, 2**n)`` state (state preparation)."""
        self.factors, self.state, self.layer, self.source = None, state.T, {}, None

    def add(self, gate: Gate) -> None:
        if len(gate.wires) == 1:
            self._add_single(gate)
        elif gate.basis_map is not None:
            # Composes after the pending layer and permutation: the invariant holds as is.
            source = permutation_source(gate, self.n)
            self.source = source if self.source is None else self.source[source]
        else:
            self.flush()
            self.state = _apply_one(self.state, gate, self.n)

    def add_unitary_transposed(self, u_t: jnp.ndarray) -> None:
        """Apply a whole block given as ``U^T`` after the pending work."""
        self.flush()
        if jnp.iscomplexobj(self.state):
            self.state = u_t.T @ self.state
        else:  # a real state: two real GEMMs in one (stacked real and imaginary parts of U)
            dim = 2 ** self.n
            both = jnp.concatenate([jnp.real(u_t), jnp.imag(u_t)], axis=1).T @ self.state
            self.state = jax.lax.complex(both[:dim], both[dim:])

    def _add_single(self, gate: Gate) -> None:
        wire = gate.wires[0]
        if self.source is not None and not self._commutes_with_permutation(wire):
            self.flush()
        if self.factors is not None:  # (the layer is empty while the state is factored)
            vec = self.factors[wire]
            matrix = gate.matrix if not (gate.real and not jnp.iscomplexobj(vec)) else jnp.real(gate.matrix)
            expr = "bij,jb->ib" if gate.batched else "ij,jb->ib"
            self.factors[wire] = jnp.einsum(expr, matrix, vec)
            return
        if wire in self.layer:
            prev = self.layer[wire]
            gate = Gate(gate.matrix @ prev.matrix, gate.wires, gate.real and prev.real)
        self.layer[wire] = gate

    def _commutes_with_permutation(self, wire: int) -> bool:
        """Whether a gate on ``wire`` commutes with the pending permutation: the permutation neither
        changes that wire's bit nor depends on it (a CNOT's control does not commute either)."""
        index = np.arange(2 ** self.n)
        bit = 1 << (self.n - 1 - wire)
        return bool(((self.source & bit) == (index & bit)).all()
                    and (self.source[index ^ bit] == (self.source ^ bit)).all())

    # -- materialising -------------------------------------------------------------------------
    def _materialise(self) -> None:
        if self.factors is None:
            return
        self.state = kron_columns(self.factors, self.batch)
        self.factors = None

    def _apply_layer(self) -> None:
        unbatched = {w: g for w, g in self.layer.items() if not g.batched}
        for gate in (g for g in self.layer.values() if g.batched):
            self.state = _apply_one(self.state, gate, self.n)
        start = 0
        for size in group_sizes(self.n):
            wires = range(start, start + size)
            if any(w in unbatched for w in wires):
                group = [unbatched.get(w) for w in wires]
                self._apply_group(start, size, _kron_matrix(group),
                                  all(g is None or g.real for g in group))
            start += size
        self.layer = {}

    def _apply_group(self, start: int, size: int, matrix: jnp.ndarray, real: bool) -> None:
        """``matrix`` on wires ``start..start+size-1``: one GEMM, batched over the wires before them."""
        state = self.state
        if real:
            matrix = jnp.real(matrix).astype(state.real.dtype)
            if jnp.iscomplexobj(state):
                matrix = matrix.astype(state.dtype)
        else:
            state = state.astype(self.cdtype)
            matrix = matrix.astype(self.cdtype)
        shaped = state.reshape(2 ** start, 2 ** size, -1)
        self.state = jnp.matmul(matrix, shaped).reshape(state.shape)

    def flush(self) -> None:
        """Apply every pending layer and permutation: afterwards ``state`` is the true state."""
        self._materialise()
        if self.layer:
            self._apply_layer()
        if self.source is not None:
            self.state = permute_basis(self.state, self.source)
            self.source = None

    # -- reading out ---------------------------------------------------------------------------
    def probabilities_before_permutation(self) -> tuple[jnp.ndarray, np.ndarray | None]:
        """``(probs, source)``: basis probabilities, basis-major ``(2**n, batch)``, with the final
        permutation still pending: the true probabilities are ``probs[source]`` (``source`` None:
        no permutation). A product state's probabilities are the Kronecker product of its wires'
        probabilities, so a circuit whose entanglement is all permutations never builds a full state.
        """
        source = self.source
        self.source = None
        if self.factors is not None:
            probs = [(jnp.real(v) ** 2 + jnp.imag(v) ** 2) if jnp.iscomplexobj(v) else v * v
                     for v in self.factors]
            return kron_columns(probs, self.batch).astype(self.rdtype), source
        if self.layer:
            self._apply_layer()
        state = self.state
        if jnp.iscomplexobj(state):
            return jnp.real(state) ** 2 + jnp.imag(state) ** 2, source
        return state * state, source

    def final_state(self) -> jnp.ndarray:
        """The true state, ``(batch, 2**n)`` (complex or real)."""
        self.flush()
        return self.state.T
