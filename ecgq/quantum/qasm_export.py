"""A trained circuit as OpenQASM 3: weights bound, data-encoding angles as declared inputs.

Why this form: a quantum processor runs one fixed circuit many times with different data. The
trained rotation angles are constants of that circuit; the encoding angles change per window, so
they are OpenQASM 3 ``input float[64] x<i>;`` parameters that the host binds per run (Qiskit's
exporter writes free parameters that way). Gates are the native rotations and CNOTs of
:mod:`ecgq.quantum.qiskit_backend` (the same decomposition its parity tests check).

Which angle is an input: each exported angle is computed from the inputs and weights by the
PennyLane templates; an angle that changes with the inputs must be an affine function of exactly
one input feature (``a * x_i + b``, e.g. ``RY(x_i)`` of an angle encoding), checked on probe inputs.
Anything else (amplitude encoding's Mottonen angles) cannot be declared as one input and is refused.
"""

from __future__ import annotations

import numpy as np

from ecgq.quantum.circuits import CircuitSpec

INPUT_PREFIX = "x"


def _angle_maps(prog, weights: np.ndarray, n_features: int) -> list[tuple[int, float, float] | float]:
    """Per exported angle: its constant value, or ``(feature, a, b)`` with angle = a * x_feature + b."""
    probes = np.vstack([np.zeros(n_features), np.eye(n_features), 2 * np.eye(n_features),
                        np.linspace(-1.0, 1.0, n_features)[None]])
    slots = np.asarray(prog.slot_values(probes.astype(np.float32), np.asarray(weights, np.float32)), np.float64)
    base, unit, double, mixed = slots[0], slots[1:1 + n_features], slots[1 + n_features:1 + 2 * n_features], slots[-1]
    maps: list = []
    for s in range(slots.shape[1]):
        constant = bool(np.allclose(slots[:, s], base[s], atol=1e-6))
        if prog.slot_kinds[s] != "data":
            if not constant:
                raise ValueError(f"angle {s} of a trainable block depends on the inputs; cannot bind it")
            maps.append(float(base[s]))
            continue
        slope = unit[:, s] - base[s]
        moved = np.flatnonzero(np.abs(slope) > 1e-6)
        if constant:
            maps.append(float(base[s]))
            continue
        i = int(moved[0]) if moved.size else -1
        a, b = (float(slope[i]), float(base[s])) if moved.size else (0.0, 0.0)
        affine = (moved.size == 1 and abs(double[i, s] - (b + 2 * a)) < 1e-5
                  and abs(mixed[s] - (b + a * probes[-1, i])) < 1e-5)
        if not affine:
            raise ValueError(f"encoding angle {s} is not an affine function of one input feature "
                             f"(encoding {prog.spec.encoding!r}); it cannot be an OpenQASM input")
        maps.append((i, a, b))
    return maps


def bound_circuit(spec: CircuitSpec, weights, n_features: int):
    """``(circuit, inputs)``: a Qiskit circuit with the trained ``weights`` bound and one
    ``Parameter`` ``x<i>`` per input feature left free, and those parameters in feature order."""
    from qiskit.circuit import Parameter

    from ecgq.quantum.qiskit_backend import QiskitProgram

    prog = QiskitProgram(spec, n_features, estimator="reference")
    inputs = [Parameter(f"{INPUT_PREFIX}{i}") for i in range(n_features)]
    theta = list(prog.circuit.parameters)
    binding = {}
    for slot, angle in zip(theta, _angle_maps(prog, np.asarray(weights), n_features)):
        if isinstance(angle, tuple):
            i, a, b = angle
            binding[slot] = inputs[i] if (a, b) == (1.0, 0.0) else a * inputs[i] + b
        else:
            binding[slot] = angle
    return prog.circuit.assign_parameters(binding), inputs


def to_qasm3(spec: CircuitSpec, weights, n_features: int, *, measure: bool = True) -> str:
    """OpenQASM 3 text of the trained circuit (``input float[64] x<i>;`` per input feature), with a
    header naming what it measures; ``measure`` appends a measurement of every qubit for hardware
    (read ``<Z>`` of qubit ``w`` as ``P(0) - P(1)`` of bit ``w``)."""
    import qiskit.qasm3

    circuit, _ = bound_circuit(spec, weights, n_features)
    if measure:
        circuit.measure_all()
    wires = list(spec.measured_wires)
    what = "<Z> of qubits" if spec.measurement == "expval" else "joint probabilities of qubits"
    header = (f"// ecgq trained circuit: {spec.n_qubits} qubits, {spec.n_layers} layers, block {spec.block!r}, "
              f"encoding {spec.encoding!r} ({spec.rotation}); outputs: {what} {wires}\n"
              f"// inputs x0..x{n_features - 1}: the encoding angles the classical pre-processing computes\n")
    return header + qiskit.qasm3.dumps(circuit)
