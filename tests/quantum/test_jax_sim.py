"""The fused JAX simulator: analytic cases, methods agree, dtypes, jit/vmap/grad."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

from ecgq.quantum import jax_sim
from ecgq.quantum import tape as tape_lib
from ecgq.quantum.circuits import CircuitSpec, weight_shape


def test_single_qubit_ry_expectation_is_cosine(x64):
    theta = jnp.linspace(-3.0, 3.0, 7)[:, None]
    spec = CircuitSpec(1, 1, block="basic")  # basic block: one RY(weight); weight 0 = identity
    out = jax_sim.simulate(spec, theta, jnp.zeros((1, 1)))
    np.testing.assert_allclose(out[:, 0], np.cos(theta[:, 0]), atol=1e-12)
    grad = jax.grad(lambda t: jax_sim.simulate(spec, t, jnp.zeros((1, 1))).sum())(theta)
    np.testing.assert_allclose(grad[:, 0], -np.sin(theta[:, 0]), atol=1e-12)


@pytest.mark.parametrize("rotation,expected", [("X", np.cos), ("Z", lambda t: np.ones_like(t))])
def test_other_rotations(x64, rotation, expected):
    theta = jnp.array([[0.3], [1.2]])
    out = jax_sim.simulate(CircuitSpec(1, 1, rotation=rotation, block="basic"), theta,
                           jnp.zeros((1, 1)))
    np.testing.assert_allclose(out[:, 0], expected(np.asarray(theta[:, 0])), atol=1e-12)


def test_bell_state_correlations(x64):
    # RY(pi/2) on wire 0 then CNOT(0, 1): (|00> + |11>)/sqrt(2).
    spec = CircuitSpec(2, 1, measurement="probs")
    probs = jax_sim.simulate(spec, jnp.array([np.pi / 2, 0.0]), jnp.zeros((1, 2, 2)))
    np.testing.assert_allclose(probs, [0.5, 0, 0, 0.5], atol=1e-12)
    zs = jax_sim.simulate(CircuitSpec(2, 1), jnp.array([np.pi / 2, 0.0]), jnp.zeros((1, 2, 2)))
    np.testing.assert_allclose(zs, [0, 0], atol=1e-12)  # <Z> vanish, <ZZ> = p00 + p11 = 1


def test_bell_state_from_hadamard_tape(x64):
    ops = [qml.Hadamard(0), qml.CNOT([0, 1])]
    gates = [tape_lib.to_gate(op, jnp.complex128) for op in ops]
    state = jax_sim.apply_gates(jnp.zeros((1, 4), jnp.complex128).at[:, 0].set(1), gates, 2)
    np.testing.assert_allclose(np.abs(state[0]) ** 2, [0.5, 0, 0, 0.5], atol=1e-12)


def test_selected_wires_probabilities_are_marginals_in_given_order(x64, make_problem):
    spec_all = CircuitSpec(3, 2, measurement="probs")
    spec_sel = CircuitSpec(3, 2, measurement="probs", wires=(2, 0))
    x, w = make_problem(spec_all, 4)
    full = np.asarray(jax_sim.simulate(spec_all, x, w)).reshape(4, 2, 2, 2)
    expected = full.sum(axis=2).transpose(0, 2, 1).reshape(4, 4)
    np.testing.assert_allclose(jax_sim.simulate(spec_sel, x, w), expected, atol=1e-12)


@pytest.mark.parametrize("encoding", ["angle", "amplitude", "reupload"])
@pytest.mark.parametrize("block", ["ryrz_ring", "strong"])
def test_unitary_and_gates_methods_agree(x64, encoding, block, make_problem):
    spec = CircuitSpec(4, 2, encoding=encoding, block=block)
    x, w = make_problem(spec, 5)
    a = jax_sim.simulate(spec, x, w, "unitary")
    b = jax_sim.simulate(spec, x, w, "gates")
    np.testing.assert_allclose(a, b, atol=1e-12)
    ga = jax.grad(lambda w: jax_sim.simulate(spec, x, w, "unitary").sum())(jnp.asarray(w))
    gb = jax.grad(lambda w: jax_sim.simulate(spec, x, w, "gates").sum())(jnp.asarray(w))
    np.testing.assert_allclose(ga, gb, atol=1e-10)


def test_float32_stays_float32_and_matches_float64(make_problem):
    spec = CircuitSpec(5, 3)
    x, w = make_problem(spec, 8)
    out32 = jax.jit(lambda x, w: jax_sim.simulate(spec, x, w))(x.astype(np.float32),
                                                              w.astype(np.float32))
    assert out32.dtype == jnp.float32
    with jax.enable_x64(True):
        out64 = jax_sim.simulate(spec, x, w)
        assert out64.dtype == jnp.float64
    np.testing.assert_allclose(out32, out64, atol=1e-5)


def test_unbatched_inputs_and_vmap_over_weights(make_problem):
    spec = CircuitSpec(3, 2)
    x, _ = make_problem(spec, 4)
    ws = jax.random.normal(jax.random.key(0), (3,) + weight_shape(spec))
    batched = jax.vmap(lambda w: jax_sim.simulate(spec, x, w))(ws)
    single = jax_sim.simulate(spec, x[1], ws[2])
    assert batched.shape == (3, 4, 3) and single.shape == (3,)
    np.testing.assert_allclose(batched[2, 1], single, atol=1e-6)


def test_unknown_method_is_rejected():
    spec = CircuitSpec(2, 1)
    with pytest.raises(ValueError, match="method"):
        jax_sim.simulate(spec, jnp.zeros((1, 2)), jnp.zeros(weight_shape(spec)), "fast")
