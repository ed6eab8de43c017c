"""Trained circuits as OpenQASM 3: weights bound, encoding angles as inputs, the same <Z> in Qiskit Aer."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from ecgq.quantum import circuit_function, qasm_export
from ecgq.quantum.circuits import CircuitSpec, weight_shape

qasm3 = pytest.importorskip("qiskit.qasm3")  # the test extra installs qiskit and its OpenQASM 3 importer


def _aer(text: str, spec: CircuitSpec, x: np.ndarray) -> np.ndarray:
    from qiskit_aer.primitives import EstimatorV2

    from ecgq.quantum.qiskit_backend import observables

    circuit = qasm3.loads(text).remove_final_measurements(inplace=False)
    values = x[:, [int(p.name[1:]) for p in circuit.parameters]]
    estimator = EstimatorV2(options={"default_precision": 0.0, "backend_options": {"method": "statevector"}})
    return np.asarray(estimator.run([(circuit, observables(spec), values[:, None, :])]).result()[0].data.evs)


@pytest.mark.parametrize("encoding,rotation,block", [("angle", "Y", "ryrz_ring"), ("reupload", "X", "ryrz_crx_all"),
                                                     ("reupload", "Y", "strong"), ("angle", "Z", "su4")])
def test_reloaded_circuit_gives_the_jax_outputs(encoding, rotation, block):
    spec = CircuitSpec(4, 2, encoding, rotation, block, "expval")
    weights = np.random.default_rng(0).uniform(-np.pi, np.pi, weight_shape(spec)).astype(np.float32)
    text = qasm_export.to_qasm3(spec, weights, 4)
    assert text.count("input float[64] x") == 4 and "OPENQASM 3.0;" in text and "measure" in text
    x = np.random.default_rng(1).uniform(-np.pi / 2, np.pi / 2, (5, 4))
    jax_out = np.asarray(circuit_function(spec, "jax")(jnp.asarray(x, jnp.float32), jnp.asarray(weights)))
    np.testing.assert_allclose(_aer(text, spec, x), jax_out, atol=1e-5)


def test_amplitude_encoding_cannot_be_declared_as_inputs():
    spec = CircuitSpec(2, 1, "amplitude", "Y", "ryrz_ring", "expval")
    with pytest.raises(ValueError, match="not an affine function of one input"):
        qasm_export.to_qasm3(spec, np.zeros(weight_shape(spec), np.float32), 4)
