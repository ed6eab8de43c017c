"""The XOR study's models: exact parameter counts and budgets, the CLI, sizing and checks, the
universal SU(4) block, and the quantum students' circuits on every backend (jax, default.qubit,
Qiskit Aer) agreeing to 1e-5."""

from __future__ import annotations

import json
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pennylane as qml
import pytest
from scipy.stats import unitary_group

from ecgq import models
from ecgq.errors import ConfigError
from ecgq.models import __main__ as models_cli
from ecgq.models import xor as xor_models
from ecgq.models.registry import InputView
from ecgq.quantum import circuit_function
from ecgq.quantum.circuits import CircuitSpec, su4_block, weight_shape
from ecgq.quantum.config import quantum_config

# (classical, quantum) trainable parameters on 2-D points with 4 classes.
COUNTS = {"xor_teacher": (1284, 0), "xor_mlp": (197, 0), "xor_vqc_universal": (18, 60),
          "xor_vqc_selective": (32, 40), "xor_mlp_small": (77, 0)}
QUANTUM = ("xor_vqc_universal", "xor_vqc_selective")


def _abstract(name, **overrides):
    box = {}

    def build():
        box["module"], variables = models.create(name, input_shape=(2, 1), n_outputs=4, **overrides)
        return variables

    variables = jax.eval_shape(build)
    return box["module"], variables


def _total(name):
    return sum(COUNTS[name])


def test_roles_families_and_controls():
    for name in COUNTS:
        spec = models.model_spec(name)
        assert spec.default_input_shape == (2, 1) and spec.default_n_outputs == 4
        assert (spec.family == "quantum") == (name in QUANTUM) == spec.uses_quantum
    assert models.model_spec("xor_teacher").role == "teacher"
    assert all(models.model_spec(n).role == "student" for n in COUNTS if n != "xor_teacher")
    assert {models.model_spec(n).control for n in QUANTUM} == {"xor_mlp_small"}


def test_exact_counts_and_the_papers_budgets():
    for name, (classical, quantum) in COUNTS.items():
        _, variables = _abstract(name)
        assert models.count_params(variables) == {"classical": classical, "quantum": quantum}, name
    assert _total("xor_teacher") > 1200
    assert abs(_total("xor_mlp") - 195) <= 0.1 * 195
    for name in QUANTUM:
        assert abs(_total(name) - 74) <= 0.1 * 74, name
        # The control matches each circuit student's size, not just the paper's 74.
        assert abs(_total("xor_mlp_small") - _total(name)) <= 0.1 * _total(name), name
    assert abs(_total("xor_mlp_small") - 74) <= 0.1 * 74


def test_count_formulas_follow_the_config():
    _, variables = _abstract("xor_mlp", hidden=(4, 3, 2))
    assert models.count_params(variables)["classical"] == xor_models.mlp_params((4, 3, 2), 2, 4) == 12 + 15 + 8 + 12
    cfg = models.model_config("xor_vqc_universal")
    cfg.update({"n_qubits": 3, "n_layers": 2})
    counts = xor_models.vqc_param_counts(cfg, 2, 4)
    assert counts == {"angle_map": 9, "circuit": 2 * 2 * 15, "readout": 3 * 4 + 4}
    _, variables = _abstract("xor_vqc_universal", n_qubits=3, n_layers=2)
    assert models.count_params(variables) == {"classical": 9 + 16, "quantum": 60}
    _, variables = _abstract("xor_vqc_selective", wires=(3,))  # one wire: 2 probabilities
    assert models.count_params(variables) == {"classical": 12 + 2 * 4 + 4, "quantum": 40}


@pytest.mark.parametrize("name", list(COUNTS))
def test_cli_prints_the_exact_counts(name, capsys):
    assert models_cli.main([f"--model={name}", "--json", "--batch_sizes=1"]) == 0
    summary = json.loads(capsys.readouterr().out.strip())
    assert (summary["classical_params"], summary["quantum_params"]) == COUNTS[name]
    assert summary["input_shape"] == [2, 1] and summary["output_shape"] == [1, 4]


def test_the_circuit_is_the_only_path_and_selective_reads_two_qubits():
    x = jax.random.uniform(jax.random.key(0), (5, 2, 1), minval=-1, maxval=1)
    for name in QUANTUM:
        module, variables = models.create(name, input_shape=(2, 1), n_outputs=4)
        angles = module.apply(variables, x, method="angles")
        assert angles.shape == (5, module.n_qubits)
        outputs = module.core.apply({"params": variables["params"]["core"]}, angles)
        logits = module.apply(variables, outputs, method="head")
        np.testing.assert_allclose(module.apply(variables, x), logits, atol=1e-6)
        # Other circuit weights, other logits: the readout does depend on the circuit.
        shifted = jax.tree_util.tree_map(lambda a: a, variables)
        shifted["params"]["core"]["quantum_weights"] = variables["params"]["core"]["quantum_weights"] + 0.5
        assert np.abs(module.apply(shifted, x) - module.apply(variables, x)).max() > 1e-3
    module, variables = models.create("xor_vqc_selective", input_shape=(2, 1), n_outputs=4)
    assert module.core.spec.n_qubits == 4 and module.core.spec.measured_wires == (0, 1)
    probs = module.core.apply({"params": variables["params"]["core"]}, module.apply(variables, x, method="angles"))
    assert probs.shape == (5, 4)
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, atol=1e-5)


def test_sizes_from_the_data_and_clear_errors():
    spec = models.model_spec("xor_mlp")
    cfg = models.model_config("xor_mlp")
    spec.fit_to_data(cfg, InputView(3, ("xor",)), "students.xor_mlp")
    assert cfg.n_inputs == 3
    with pytest.raises(ConfigError, match=r"--config\.students\.xor_mlp\.n_inputs=3 .*2 values"):
        spec.fit_to_data(cfg, InputView(2, ("xor",)), "students.xor_mlp")
    module, variables = models.create("xor_mlp", input_shape=(3, 1), n_outputs=8)
    assert module.apply(variables, jnp.zeros((2, 3, 1))).shape == (2, 8)
    with pytest.raises(ValueError, match="no RR features"):
        module.apply(variables, jnp.zeros((2, 3, 1)), jnp.zeros((2, 7)))
    check = models.model_spec("xor_vqc_selective").check
    for field, value, match in (("wires", (4,), "wires"), ("block", "qaoa", "block"),
                                ("encoding", "amplitude", "encoding"), ("angle_scale", 0.0, "angle_scale")):
        cfg = models.model_config("xor_vqc_selective")
        cfg[field] = value
        with pytest.raises(ConfigError, match=rf"--config\.students\.xor_vqc_selective.*{match}"):
            check(cfg, None, "students.xor_vqc_selective")
    cfg = models.model_config("xor_mlp_small")
    cfg.hidden = ()
    with pytest.raises(ConfigError, match=r"--config\.students\.xor_mlp_small\.hidden"):
        models.model_spec("xor_mlp_small").check(cfg, None, "students.xor_mlp_small")


# --- the universal block ---------------------------------------------------------------------------


def test_su4_block_shape_gates_and_validation():
    assert weight_shape(CircuitSpec(4, 3, block="su4")) == (3, 3, 15)
    with pytest.raises(ValueError, match="su4.*n_qubits must be >= 2"):
        CircuitSpec(1, 1, block="su4")
    tape = qml.tape.make_qscript(su4_block)(np.zeros(15), (0, 1))
    names = [op.name for op in tape.operations]
    assert names.count("CNOT") == 3 and set(names) == {"RY", "RZ", "CNOT"} and len(tape.get_parameters()) == 15


def test_su4_block_reaches_random_two_qubit_unitaries(x64):
    """Vatan & Williams: every SU(4) element up to phase; a 2-CNOT circuit could not reach these."""
    matrix = lambda w: qml.matrix(su4_block, wire_order=[0, 1])(w, (0, 1))  # noqa: E731

    def infidelity(w, target):
        return 1.0 - jnp.abs(jnp.trace(target.conj().T @ matrix(w))) ** 2 / 16.0

    opt = optax.adam(0.05)

    @jax.jit
    def fit(w, target):
        def step(carry, _):
            w, state = carry
            loss, g = jax.value_and_grad(infidelity)(w, target)
            updates, state = opt.update(g, state)
            return (optax.apply_updates(w, updates), state), loss

        (w, _), _ = jax.lax.scan(step, (w, opt.init(w)), None, length=1500)
        return infidelity(w, target)

    rng = np.random.default_rng(0)
    for k in range(3):
        target = jnp.asarray(unitary_group.rvs(4, random_state=k))
        best = min(float(fit(jnp.asarray(rng.uniform(-np.pi, np.pi, 15)), target)) for _ in range(4))
        assert best < 1e-6, f"target {k}: best infidelity {best}"


# --- the students' circuits on every backend -------------------------------------------------------


def _circuit(name):
    spec = xor_models.circuit_spec(models.model_config(name))
    rng = np.random.default_rng(len(name))
    x = rng.uniform(-np.pi, np.pi, (3, spec.n_qubits))
    w = rng.uniform(-np.pi, np.pi, weight_shape(spec))
    return spec, x, w


@pytest.mark.parametrize("name", QUANTUM)
def test_jax_float32_agrees_with_default_qubit(name):
    spec, x, w = _circuit(name)
    f = lambda fn: jax.value_and_grad(lambda w, x: fn(x, w).sum(), argnums=(0, 1))  # noqa: E731
    x32, w32 = jnp.asarray(x, jnp.float32), jnp.asarray(w, jnp.float32)
    value32, (dw32, dx32) = jax.jit(f(circuit_function(spec, "jax")))(w32, x32)
    assert value32.dtype == jnp.float32
    with jax.enable_x64(True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = circuit_function(spec, "default.qubit")
            value64, (dw64, dx64) = f(ref)(jnp.asarray(w), jnp.asarray(x))
            out64 = ref(jnp.asarray(x), jnp.asarray(w))
    out32 = circuit_function(spec, "jax")(x32, w32)
    np.testing.assert_allclose(out32, out64, atol=1e-5)
    np.testing.assert_allclose(value32, value64, atol=1e-5 * spec.n_outputs)
    np.testing.assert_allclose(dw32, dw64, atol=1e-5 * spec.n_outputs)
    np.testing.assert_allclose(dx32, dx64, atol=1e-5 * spec.n_outputs)


@pytest.mark.parametrize("name", QUANTUM)
def test_qiskit_agrees_with_default_qubit(x64, name):
    pytest.importorskip("qiskit_aer")
    spec, x, w = _circuit(name)
    x, w = jnp.asarray(x), jnp.asarray(w)
    cotangent = jnp.asarray(np.random.default_rng(1).normal(size=(3, spec.n_outputs)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = {}
        for backend in ("default.qubit", "qiskit"):
            out, vjp = jax.vjp(circuit_function(spec, backend), x, w)
            results[backend] = (out, *vjp(cotangent))
    for what, a, b in zip(("values", "d/dinputs", "d/dweights"), results["qiskit"], results["default.qubit"]):
        np.testing.assert_allclose(a, b, atol=1e-5, err_msg=f"{name} {what}")


@pytest.mark.parametrize("name", QUANTUM)
def test_whole_student_gives_the_same_logits_on_each_backend(name, x64):
    # In 64-bit, as the other parity tests: an earlier test of the same worker may have left
    # PennyLane holding float64 constants, which a float32 executable would refuse.
    module, variables = models.create(name, input_shape=(2, 1), n_outputs=4)
    x = jax.random.uniform(jax.random.key(1), (4, 2, 1), minval=-1, maxval=1)
    reference = module.apply(variables, x)
    sim = quantum_config()
    sim.backend = "default.qubit"
    other = models.build_model(name, models.model_config(name), 4, sim)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(other.apply(variables, x), reference, atol=1e-5)
