"""Circuit descriptions: validation, shapes, and that the tape reader sees the right gates."""

from __future__ import annotations

import numpy as np
import pennylane as qml
import pytest

from ecgq.quantum import tape as tape_lib
from ecgq.quantum.circuits import (CircuitSpec, check_inputs, quantum_function, ring_pairs,
                                   stages, weight_shape, z_signs)


@pytest.mark.parametrize("field,value", [("encoding", "basis"), ("rotation", "W"),
                                         ("block", "qaoa"), ("measurement", "var"),
                                         ("n_qubits", 0), ("n_layers", 0), ("wires", (0, 0)),
                                         ("wires", (7,))])
def test_spec_rejects_bad_fields(field, value):
    with pytest.raises(ValueError, match=field if field != "wires" else "wires"):
        CircuitSpec(**{field: value})


def test_shapes_and_outputs():
    assert weight_shape(CircuitSpec(4, 2, block="ryrz_ring")) == (2, 4, 2)
    assert weight_shape(CircuitSpec(4, 2, block="basic")) == (2, 4)
    assert weight_shape(CircuitSpec(4, 2, block="strong")) == (2, 4, 3)
    assert CircuitSpec(4, wires=(2, 0)).n_outputs == 2
    assert CircuitSpec(4, measurement="probs", wires=(1, 3)).n_outputs == 4
    assert CircuitSpec(3, encoding="amplitude").n_features == 8


def test_check_inputs_names_expected_size():
    with pytest.raises(ValueError, match="expected 6 features, got 5"):
        check_inputs(CircuitSpec(6), (3, 5))
    with pytest.raises(ValueError, match="1..8"):
        check_inputs(CircuitSpec(3, encoding="amplitude"), (9,))


def test_ring_follows_pennylane_convention():
    assert ring_pairs(1) == [] and ring_pairs(2) == [(0, 1)]
    assert ring_pairs(4) == [(0, 1), (1, 2), (2, 3), (3, 0)]


def test_reupload_alternates_data_and_weight_stages():
    kinds = [s.kind for s in stages(CircuitSpec(3, 3, encoding="reupload"))]
    assert kinds == ["data", "weights"] * 3


def test_ryrz_ring_tape_gates():
    spec = CircuitSpec(3, 1)
    tape = qml.tape.make_qscript(quantum_function(spec))(np.zeros(3), np.zeros((1, 3, 2)))
    names = [op.name for op in tape_lib.primitive_operations(tape.operations)]
    assert names == ["RY"] * 3 + ["RY", "RZ"] * 3 + ["CNOT"] * 3


def test_fusion_keeps_order_of_non_commuting_gates(x64):
    ops = [qml.RY(0.3, 0), qml.RZ(0.2, 0), qml.CNOT([0, 1]), qml.RX(0.1, 0), qml.RY(0.5, 1)]
    gates = tape_lib.fuse_single_qubit([tape_lib.to_gate(op, np.complex128) for op in ops])
    assert [g.wires for g in gates] == [(0,), (0, 1), (0,), (1,)]
    expected = qml.matrix(qml.RZ(0.2, 0)) @ qml.matrix(qml.RY(0.3, 0))
    np.testing.assert_allclose(gates[0].matrix, expected, atol=1e-12)


def test_z_signs():
    np.testing.assert_array_equal(z_signs(2, (0, 1)), [[1, 1], [1, -1], [-1, 1], [-1, -1]])
