"""Variational circuits written once, as PennyLane quantum functions.

Why one description: every backend (ecgq's own JAX simulator, PennyLane devices, Qiskit) reads the
same PennyLane operations, so there is no second circuit language to keep in sync. A circuit is an
ordered list of *stages*; each stage is a PennyLane quantum function that depends either on the
inputs (an encoding, ``kind="data"``) or on the trainable weights (a block, ``kind="weights"``).
Keeping that split explicit is what lets the JAX simulator build the weight-only part once per step
and apply it to a whole batch, and what lets the Qiskit backend know which parameters to shift.

Conventions: wires are ``0..n_qubits-1`` with wire 0 the most significant bit (PennyLane's order);
``inputs`` are ``(n_features,)`` or batched ``(batch, n_features)``; weights have the shape given by
:func:`weight_shape`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import pennylane as qml

ENCODINGS = ("angle", "amplitude", "reupload")
ROTATIONS = ("X", "Y", "Z")
BLOCKS = ("ryrz_ring", "basic", "strong", "su4", "ryrz_crx_all", "rx_ring")
SU4_ANGLES = 15  # a general two-qubit unitary (up to phase) has 15 real parameters
MEASUREMENTS = ("expval", "probs")


def ring_pairs(n_qubits: int) -> list[tuple[int, int]]:
    """CNOT (control, target) pairs of a ring, following PennyLane's BasicEntanglerLayers convention:
    none for one qubit, a single CNOT for two (a two-qubit "ring" would apply it twice), else i->i+1."""
    if n_qubits == 1:
        return []
    if n_qubits == 2:
        return [(0, 1)]
    return [(i, (i + 1) % n_qubits) for i in range(n_qubits)]


def ryrz_ring_layers(weights, wires: Sequence[int]) -> None:
    """Our template: per layer RY then RZ on every wire, then a CNOT ring.

    ``weights`` has shape ``(n_layers, n_wires, 2)`` (``[..., 0]`` for RY, ``[..., 1]`` for RZ). This
    is the student circuit of the seed study; it is a plain quantum function (not an Operation
    subclass) so that it decomposes to native gates with no extra machinery.
    """
    wires = list(wires)
    for layer in range(weights.shape[0]):
        for i, wire in enumerate(wires):
            qml.RY(weights[layer, i, 0], wires=wire)
            qml.RZ(weights[layer, i, 1], wires=wire)
        for control, target in ring_pairs(len(wires)):
            qml.CNOT(wires=[wires[control], wires[target]])


def _zyz(angles, wire: int) -> None:
    """A general single-qubit rotation RZ . RY . RZ (3 angles: every element of SU(2))."""
    qml.RZ(angles[0], wires=wire)
    qml.RY(angles[1], wires=wire)
    qml.RZ(angles[2], wires=wire)


def su4_block(angles, wires: Sequence[int]) -> None:
    """A general two-qubit unitary on ``wires = (a, b)`` from RY, RZ and three CNOTs (15 angles).

    Why this form: it is Vatan & Williams' optimal circuit (Phys. Rev. A 69, 032315, 2004): any
    element of SU(4) is ``(A ⊗ B) N(alpha, beta, gamma) (C ⊗ D)`` with single-qubit A..D and the
    entangling core ``N = CNOT(b->a) (RZ(t1) ⊗ RY(t2)) CNOT(a->b) (1 ⊗ RY(t3)) CNOT(b->a)`` (its
    fixed RZ(+-pi/2) gates absorbed into A..D). So one block reaches every two-qubit gate, with
    only the gates every backend has natively (no template to decompose).
    ``angles`` ``(15,)``: ``[0:3]`` / ``[3:6]`` the ZYZ rotations before on a / b, ``[6:9]`` the
    core's t1..t3, ``[9:12]`` / ``[12:15]`` the rotations after.
    """
    a, b = wires
    _zyz(angles[0:3], a)
    _zyz(angles[3:6], b)
    qml.CNOT(wires=[b, a])
    qml.RZ(angles[6], wires=a)
    qml.RY(angles[7], wires=b)
    qml.CNOT(wires=[a, b])
    qml.RY(angles[8], wires=b)
    qml.CNOT(wires=[b, a])
    _zyz(angles[9:12], a)
    _zyz(angles[12:15], b)


def su4_chain_layers(weights, wires: Sequence[int]) -> None:
    """Per layer, :func:`su4_block` on every neighbouring pair (0, 1), (1, 2), ... in order.

    ``weights`` has shape ``(n_layers, n_wires - 1, 15)``. A chain of universal blocks, rather
    than a ring of CNOTs, is the "universal circuit" ansatz: each layer can apply any gate to each
    pair, so its expressiveness is limited by depth only, not by a fixed entangler.
    """
    wires = list(wires)
    for layer in range(weights.shape[0]):
        for pair in range(len(wires) - 1):
            su4_block(weights[layer, pair], (wires[pair], wires[pair + 1]))


def all_pairs(n_qubits: int) -> list[tuple[int, int]]:
    """Every (control, target) pair ``i < j`` in lexicographic order: the entanglers of
    :func:`ryrz_crx_all_layers`, in the order of their angles."""
    return [(i, j) for i in range(n_qubits) for j in range(i + 1, n_qubits)]


def ryrz_crx_all_layers(weights, wires: Sequence[int]) -> None:
    """Per layer RY then RZ on every wire, then a CRX with its own trainable angle on every pair.

    ``weights`` has shape ``(n_layers, 2 * n + n * (n - 1) // 2)``: ``[:, :n]`` the RY angles,
    ``[:, n:2n]`` the RZ angles, ``[:, 2n:]`` the CRX angles of :func:`all_pairs` (control ``i``,
    target ``j``). Why: a fixed CNOT ring decides beforehand which qubits interact; here every
    pair can, and gradient descent sets how strongly. ``CRX(theta)`` is the identity at
    ``theta = 0`` and is locally equivalent to a controlled phase of ``theta``, so
    ``|sin(theta / 2)|`` (the most concurrence it can create) measures a pair's learned
    entanglement, a smooth map with no discrete choice of pairs. CRX rather than CRZ: a diagonal
    entangler in the last layer would commute with the <Z> measurement and get no gradient.
    """
    wires = list(wires)
    n = len(wires)
    for layer in range(weights.shape[0]):
        for i, wire in enumerate(wires):
            qml.RY(weights[layer, i], wires=wire)
            qml.RZ(weights[layer, n + i], wires=wire)
        for k, (control, target) in enumerate(all_pairs(n)):
            qml.CRX(weights[layer, 2 * n + k], wires=[wires[control], wires[target]])


@dataclasses.dataclass(frozen=True)
class CircuitSpec:
    """Everything that defines a circuit's structure (not its parameter values).

    Attributes:
      n_qubits: number of wires.
      n_layers: layers of the trainable block (and, for ``reupload``, encodings).
      encoding: ``angle`` (one feature per qubit, AngleEmbedding), ``amplitude`` (up to 2**n
        features, AmplitudeEmbedding, normalised and zero-padded) or ``reupload`` (AngleEmbedding
        repeated before every layer of the block).
      rotation: axis of the angle encoding: ``X``, ``Y`` or ``Z``.
      block: ``ryrz_ring`` (ours), ``basic`` (BasicEntanglerLayers, RY), ``strong``
        (StronglyEntanglingLayers), ``su4`` (a general two-qubit block on each neighbouring
        pair, :func:`su4_chain_layers`; needs at least 2 qubits), ``ryrz_crx_all`` (RY, RZ
        and a trainable CRX on every pair, :func:`ryrz_crx_all_layers`) or ``rx_ring`` (per layer
        RX on every wire, then a CNOT ring: BasicEntanglerLayers with its own RX; the QViT
        projections of Comajoan Cara et al. 2024).
      measurement: ``expval`` (<Z> on each measured wire) or ``probs`` (joint probabilities of the
        measured wires, 2**k values).
      wires: measured wires (selective measurement); ``None`` measures all.
    """

    n_qubits: int = 6
    n_layers: int = 3
    encoding: str = "angle"
    rotation: str = "Y"
    block: str = "ryrz_ring"
    measurement: str = "expval"
    wires: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.n_qubits < 1:
            raise ValueError(f"n_qubits must be >= 1, got {self.n_qubits}")
        if self.n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {self.n_layers}")
        for name, value, allowed in (("encoding", self.encoding, ENCODINGS),
                                     ("rotation", self.rotation, ROTATIONS),
                                     ("block", self.block, BLOCKS),
                                     ("measurement", self.measurement, MEASUREMENTS)):
            if value not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
        if self.block == "su4" and self.n_qubits < 2:
            raise ValueError(f"block 'su4' acts on pairs of qubits: n_qubits must be >= 2, got {self.n_qubits}")
        if self.wires is not None:
            wires = tuple(int(w) for w in self.wires)
            if not wires or len(set(wires)) != len(wires) or not all(
                    0 <= w < self.n_qubits for w in wires):
                raise ValueError(f"wires must be distinct values in [0, {self.n_qubits}), "
                                 f"got {self.wires!r}")
            object.__setattr__(self, "wires", wires)

    @property
    def measured_wires(self) -> tuple[int, ...]:
        """The wires that are measured, in output order."""
        return self.wires if self.wires is not None else tuple(range(self.n_qubits))

    @property
    def n_features(self) -> int:
        """Input features the encoding consumes (amplitude: up to 2**n, zero-padded)."""
        return 2 ** self.n_qubits if self.encoding == "amplitude" else self.n_qubits

    @property
    def n_outputs(self) -> int:
        """Length of the circuit's output vector."""
        k = len(self.measured_wires)
        return 2 ** k if self.measurement == "probs" else k


@dataclasses.dataclass(frozen=True)
class Stage:
    """One part of a circuit: ``fn(values)`` queues PennyLane operations.

    ``kind`` is ``"data"`` when ``values`` are the (possibly batched) inputs, ``"weights"`` when they
    are the trainable weights shared by every sample.
    """

    kind: str
    fn: Callable


def weight_shape(spec: CircuitSpec) -> tuple[int, ...]:
    """Shape of the trainable weights of ``spec``'s block (PennyLane's own ``shape`` where it exists)."""
    if spec.block == "ryrz_ring":
        return (spec.n_layers, spec.n_qubits, 2)
    if spec.block in ("basic", "rx_ring"):
        return tuple(qml.BasicEntanglerLayers.shape(spec.n_layers, spec.n_qubits))
    if spec.block == "su4":
        return (spec.n_layers, spec.n_qubits - 1, SU4_ANGLES)
    if spec.block == "ryrz_crx_all":
        return (spec.n_layers, 2 * spec.n_qubits + spec.n_qubits * (spec.n_qubits - 1) // 2)
    return tuple(qml.StronglyEntanglingLayers.shape(spec.n_layers, spec.n_qubits))


def _encoding_fn(spec: CircuitSpec) -> Callable:
    wires = list(range(spec.n_qubits))
    if spec.encoding == "amplitude":
        def amplitude(inputs):
            # pad_with=0 accepts fewer than 2**n features; normalize makes any non-zero input valid.
            qml.AmplitudeEmbedding(inputs, wires=wires, pad_with=0.0, normalize=True)
        return amplitude

    def angle(inputs):
        qml.AngleEmbedding(inputs, wires=wires, rotation=spec.rotation)
    return angle


def _block_fn(spec: CircuitSpec, layers: slice) -> Callable:
    wires = list(range(spec.n_qubits))

    def block(weights):
        w = weights[layers]
        if spec.block == "ryrz_ring":
            ryrz_ring_layers(w, wires)
        elif spec.block == "basic":
            qml.BasicEntanglerLayers(w, wires=wires, rotation=qml.RY)
        elif spec.block == "rx_ring":
            qml.BasicEntanglerLayers(w, wires=wires, rotation=qml.RX)
        elif spec.block == "su4":
            su4_chain_layers(w, wires)
        elif spec.block == "ryrz_crx_all":
            ryrz_crx_all_layers(w, wires)
        else:
            qml.StronglyEntanglingLayers(w, wires=wires)
    return block


def stages(spec: CircuitSpec) -> list[Stage]:
    """The circuit as alternating data / weight stages (re-uploading: one pair per layer)."""
    encode = Stage("data", _encoding_fn(spec))
    if spec.encoding == "reupload":
        result = []
        for layer in range(spec.n_layers):
            result += [encode, Stage("weights", _block_fn(spec, slice(layer, layer + 1)))]
        return result
    return [encode, Stage("weights", _block_fn(spec, slice(None)))]


def measure(spec: CircuitSpec):
    """The measurement processes of ``spec``, to be returned from a QNode's quantum function."""
    wires = list(spec.measured_wires)
    if spec.measurement == "probs":
        return qml.probs(wires=wires)
    return [qml.expval(qml.PauliZ(w)) for w in wires]


def quantum_function(spec: CircuitSpec) -> Callable:
    """``qfunc(inputs, weights)`` queuing the whole circuit and returning its measurements.

    This is the single circuit description every backend uses.
    """
    parts = stages(spec)

    def qfunc(inputs, weights):
        for stage in parts:
            stage.fn(inputs if stage.kind == "data" else weights)
        return measure(spec)

    return qfunc


def check_inputs(spec: CircuitSpec, inputs_shape: Sequence[int]) -> None:
    """Fail early, naming the expected size, when inputs do not fit the encoding."""
    if len(inputs_shape) not in (1, 2):
        raise ValueError(f"inputs must be (n_features,) or (batch, n_features), got {inputs_shape}")
    n = inputs_shape[-1]
    if spec.encoding == "amplitude":
        if not 1 <= n <= 2 ** spec.n_qubits:
            raise ValueError(f"amplitude encoding on {spec.n_qubits} qubits takes 1..{2 ** spec.n_qubits}"
                             f" features, got {n}")
    elif n != spec.n_qubits:
        raise ValueError(f"{spec.encoding} encoding takes one feature per qubit: expected "
                         f"{spec.n_qubits} features, got {n}")


def z_signs(n_qubits: int, wires: Sequence[int]) -> np.ndarray:
    """``(2**n, len(wires))`` table of the eigenvalue of Z on each wire for every basis state."""
    states = np.arange(2 ** n_qubits)
    bits = np.stack([(states >> (n_qubits - 1 - w)) & 1 for w in wires], axis=-1)
    return (1 - 2 * bits).astype(np.float64)
