"""Finite shots and noise channels: statistics, and parity with PennyLane default.mixed."""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

from ecgq.quantum import VQC, jax_sim, noise
from ecgq.quantum import tape as tape_lib
from ecgq.quantum.circuits import CircuitSpec, measure, stages


def _default_mixed(spec, x, w, depolarizing, amplitude_damping):
    """Reference: the same primitive gates on default.mixed, each followed on each of its wires by
    PennyLane's DepolarizingChannel then AmplitudeDamping."""

    def qfunc(xi):
        for stage in stages(spec):
            values = xi if stage.kind == "data" else w
            for op in tape_lib.primitive_operations(tape_lib.record(stage.fn, values).operations):
                qml.apply(op)
                if isinstance(op, qml.operation.StatePrepBase):
                    continue
                for wire in op.wires:
                    qml.DepolarizingChannel(depolarizing, wires=wire)
                    qml.AmplitudeDamping(amplitude_damping, wires=wire)
        return measure(spec)

    qnode = qml.QNode(qfunc, qml.device("default.mixed", wires=spec.n_qubits))
    rows = [qnode(xi) for xi in x]
    return np.array([np.stack(r) if spec.measurement == "expval" else r for r in rows])


@pytest.mark.parametrize("spec", [
    CircuitSpec(3, 2),
    CircuitSpec(2, 1, encoding="amplitude", block="strong", measurement="probs"),
    CircuitSpec(3, 2, encoding="reupload", block="basic", rotation="X", wires=(2,)),
], ids=["angle-ring", "amplitude-strong-probs", "reupload-basic-selected"])
def test_noise_matches_default_mixed(x64, make_problem, spec):
    x, w = make_problem(spec, batch=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = _default_mixed(spec, x, w, 0.05, 0.1)
    got = noise.nisq_outputs(spec, x, w, depolarizing=0.05, amplitude_damping=0.1)
    np.testing.assert_allclose(got, expected, atol=1e-10)


def test_single_qubit_depolarizing_shrinks_bloch_vector(x64):
    # RY(theta) then RY(0) (the basic block with a zero weight), each followed by depolarising p:
    # <Z> = (1 - 4p/3)^2 cos(theta).
    p, theta = 0.1, 0.7
    out = noise.nisq_outputs(CircuitSpec(1, 1, block="basic"), jnp.array([theta]),
                             jnp.zeros((1, 1)), depolarizing=p)
    np.testing.assert_allclose(out, [(1 - 4 * p / 3) ** 2 * np.cos(theta)], atol=1e-12)


def test_no_noise_density_path_equals_statevector(x64, make_problem):
    spec = CircuitSpec(3, 2, block="strong")
    x, w = make_problem(spec, batch=3)
    probs = noise.density_probabilities(spec, jnp.asarray(x), jnp.asarray(w))
    re, im = jax_sim.final_state(spec, jnp.asarray(x), jnp.asarray(w))
    np.testing.assert_allclose(probs, re ** 2 + im ** 2, atol=1e-12)


def test_shot_noise_mean_and_variance(x64):
    # <Z> of RY(theta)|0> estimated from N shots: unbiased, variance (1 - cos^2 theta) / N.
    spec = CircuitSpec(1, 1, block="basic")
    theta, shots, repeats = 1.1, 400, 2000
    x = jnp.full((repeats, 1), theta)
    estimates = noise.nisq_outputs(spec, x, jnp.zeros((1, 1)), shots=shots, key=jax.random.key(3))
    mean, var = float(estimates.mean()), float(estimates.var())
    exact_var = (1 - np.cos(theta) ** 2) / shots
    assert abs(mean - np.cos(theta)) < 4 * np.sqrt(exact_var / repeats)
    assert abs(var / exact_var - 1) < 0.1  # sampling error of a variance over 2000 repeats ~3%


def test_shots_are_reproducible_from_the_key_and_probs_sum_to_one():
    spec = CircuitSpec(3, 1, measurement="probs")
    x = jnp.zeros((4, 3))
    w = jnp.ones((1, 3, 2))
    a = noise.nisq_outputs(spec, x, w, shots=100, key=jax.random.key(0))
    b = noise.nisq_outputs(spec, x, w, shots=100, key=jax.random.key(0))
    c = noise.nisq_outputs(spec, x, w, shots=100, key=jax.random.key(1))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_allclose(a.sum(-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(a * 100, np.round(a * 100), atol=1e-4)  # counts / shots


def test_vqc_with_shots_and_noise_uses_the_shots_rng_stream():
    module = VQC(n_qubits=2, n_layers=1, shots=50, depolarizing=0.01)
    x = jnp.zeros((3, 2))
    variables = module.init({"params": jax.random.key(0), "shots": jax.random.key(1)}, x)
    out = jax.jit(lambda v, k: module.apply(v, x, rngs={"shots": k}))(variables, jax.random.key(2))
    assert out.shape == (3, 2)
    with pytest.raises(ValueError, match="jax"):
        VQC(n_qubits=2, n_layers=1, shots=10, backend="default.qubit").init(
            {"params": jax.random.key(0), "shots": jax.random.key(1)}, x)


def test_invalid_noise_and_missing_key_are_reported():
    spec = CircuitSpec(1, 1)
    with pytest.raises(ValueError, match="depolarizing"):
        noise.nisq_outputs(spec, jnp.zeros((1, 1)), jnp.zeros((1, 1, 2)), depolarizing=1.5)
    with pytest.raises(ValueError, match="PRNG key"):
        noise.nisq_outputs(spec, jnp.zeros((1, 1)), jnp.zeros((1, 1, 2)), shots=10)
