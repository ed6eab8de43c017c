"""snn, snn_vqc and snn_mlp: registration, the 50k budget and the 1-bit split, shapes, gradients
reaching the gate, the learned entanglement and the first layer, the quantum path against
PennyLane default.qubit, spike statistics, the checks, and that a hybrid learns a toy problem."""

from __future__ import annotations

import functools
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ecgq import models
from ecgq.errors import ConfigError
from ecgq.models import snn_costs, snn_vqc
from ecgq.models.registry import InputView
from ecgq.quantum import circuit_function
from ecgq.quantum.circuits import CircuitSpec, all_pairs, weight_shape
from ecgq.quantum.config import quantum_config

NAMES = ("snn", "snn_vqc", "snn_mlp")
# A small pyramid and circuit for the tests that compile and run (the defaults are shape-checked
# only: XLA:CPU spends ~15 s compiling the gradient of the 8-qubit, 84-CRX default circuit).
SMALL = {"features": (4, 6, 8), "kernel_sizes": (5, 3, 3)}
SMALL_CIRCUIT = {"n_qubits": 4, "n_layers": 2}


def _abstract(name, input_shape=(1000, 12), n_outputs=5, **fields):
    """``(module, abstract variables)`` of ``create`` at the PTB-XL shape, traced only."""
    box = {}

    def build():
        box["module"], variables = models.create(name, input_shape=input_shape, n_outputs=n_outputs, **fields)
        return variables

    variables = jax.eval_shape(build)
    return box["module"], variables


def _random_variables(init, seed=0):
    """Variables of the structure ``init()`` returns, drawn uniform in [-0.5, 0.5] around
    ``jax.eval_shape`` (no init is compiled). Only for training-mode passes: batch norm then uses
    the batch's statistics, not the (random) running ones."""
    leaves, tree = jax.tree.flatten(jax.eval_shape(init))
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    return jax.tree.unflatten(tree, [jax.random.uniform(k, s.shape, s.dtype, -0.5, 0.5) for k, s in zip(keys, leaves)])


def _x(batch, length, leads, seed=0):
    return jax.random.normal(jax.random.key(seed), (batch, length, leads))


def test_registered_as_students_with_a_control():
    specs = {n: models.model_spec(n) for n in NAMES}
    assert {n: (s.role, s.family, s.uses_quantum, s.control) for n, s in specs.items()} == {
        "snn": ("student", "classical", False, ""), "snn_vqc": ("student", "quantum", True, "snn_mlp"),
        "snn_mlp": ("student", "classical", False, "")}
    assert all(s.default_input_shape == (1000, 12) and s.default_n_outputs == 5 for s in specs.values())
    cfg = models.model_config("snn_vqc")
    assert (cfg.n_qubits, cfg.n_layers, cfg.block, cfg.encoding, cfg.max_params) == (8, 3, "ryrz_crx_all", "reupload", 50_000)


@pytest.mark.parametrize("name", NAMES)
def test_budget_shapes_and_the_one_bit_split(name):
    module, variables = _abstract(name)
    counts = models.count_params(variables)
    cfg = models.model_config(name)
    expected = snn_vqc.param_counts(cfg, name, 12, 5)
    assert set(variables["params"]) == set(expected) and set(variables) == {"params", "batch_stats"}
    assert {k: sum(int(np.prod(x.shape)) for x in jax.tree.leaves(variables["params"][k])) for k in expected} == expected
    total = sum(counts.values())
    assert total == sum(expected.values()) < 50_000
    # The totals the module docstring states, so that they cannot drift from the code.
    assert total == {"snn": 15_717, "snn_vqc": 17_695, "snn_mlp": 17_690}[name]
    assert counts["quantum"] == (132 if name == "snn_vqc" else 0)  # 3 layers x (8 RY + 8 RZ + 28 CRX)
    precision = snn_costs.precision_counts(variables)
    assert precision["binary_params"] == 5 * 16 * 32 + 5 * 32 * 64  # stages 1 and 2; stage 0 is full precision
    assert precision["binary_scales"] == 32 + 64
    assert precision["binary_params"] + precision["full_precision_params"] == total
    assert precision["bits"] == precision["binary_params"] + 32 * (total - precision["binary_params"] + 96)
    assert precision["fp32_bytes"] == 4 * total and precision["bytes"] == math.ceil(precision["bits"] / 8)
    assert precision["layers"]["stages_0"]["binary"] == 0 and precision["layers"]["stages_2"]["full_precision"] == 4 * 64
    logits = jax.eval_shape(module.apply, variables, jnp.zeros((3, 1000, 12)))
    assert logits.shape == (3, 5)


def test_the_control_matches_the_circuit():
    _, vqc = _abstract("snn_vqc")
    _, mlp = _abstract("snn_mlp")
    assert models.count_params({"params": mlp["params"]["core"]}) == {"classical": 127, "quantum": 0}  # hidden 7
    for top in set(vqc["params"]) - {"core"}:
        assert jax.tree.map(jnp.shape, vqc["params"][top]) == jax.tree.map(jnp.shape, mlp["params"][top])
    assert all(k.startswith("quantum_") for k in vqc["params"]["core"])
    _, per_class = _abstract("snn_vqc", gate="per_class")
    assert per_class["params"]["fusion_gate"].shape == (5,) and vqc["params"]["fusion_gate"].shape == ()


def _loss(module, params, batch_stats, x, y):
    logits, _ = module.apply({"params": params, "batch_stats": batch_stats}, x, train=True, mutable=["batch_stats"])
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def test_gradients_reach_the_gate_the_entanglers_and_the_first_layer():
    module, _ = _abstract("snn_vqc", input_shape=(32, 12), **SMALL, **SMALL_CIRCUIT)
    x, y = _x(6, 32, 12, seed=1), jnp.arange(6) % 5
    variables = _random_variables(lambda: module.init(jax.random.key(0), x))
    grads = jax.jit(jax.grad(lambda p: _loss(module, p, variables["batch_stats"], x, y)))(variables["params"])
    assert all(np.all(np.isfinite(g)) for g in jax.tree.leaves(grads))
    assert np.all(np.abs(grads["fusion_gate"]) > 0)
    entanglers = np.asarray(grads["core"]["quantum_weights"])[:, 2 * 4:]  # the 6 CRX angles of each layer
    assert entanglers.shape == (2, 6) and np.all(np.abs(entanglers) > 0)
    assert float(jnp.abs(grads["stages_0"]["conv"]["kernel"]).min()) > 0  # the full-precision first layer
    assert float(jnp.abs(grads["stages_2"]["conv"]["binary_kernel"]).max()) > 0  # through two spiking layers
    assert float(jnp.abs(grads["stages_0"]["lif"]["beta_logit"]).max()) > 0


def test_quantum_path_matches_pennylane_default_qubit(x64):
    """The quantum path (angle map, circuit, its readout and the fusion) on one input's pooled
    spiking features, the circuit simulated by ecgq's fused JAX simulator and by PennyLane's
    default.qubit (the model built from the study's quantum config): the same circuit outputs and
    logits. Gradients are compared on the bare circuit below (PennyLane's compile of the model's
    gradient alone costs ~10 s)."""
    cfg = models.model_config("snn_vqc")
    cfg.update({**SMALL, **SMALL_CIRCUIT})
    cfg.n_leads = 12
    jax_cfg, pl_cfg = quantum_config(), quantum_config()
    jax_cfg.dtype = pl_cfg.dtype = "float64"
    pl_cfg.backend = "default.qubit"
    ours, reference = (models.build_model("snn_vqc", cfg, 5, q) for q in (jax_cfg, pl_cfg))
    assert (ours.core.backend, reference.core.backend) == ("jax", "default.qubit")
    x = _x(1, 32, 12, seed=2).astype(jnp.float64)
    variables = _random_variables(lambda: ours.init(jax.random.key(3), x), seed=3)
    features, _ = jax.jit(lambda v, x: ours.apply(v, x, train=True, method="pooled", mutable=["batch_stats"]))(
        variables, x)
    assert features.shape == (1, 2 * sum(SMALL["features"])) and np.all(np.isfinite(features))

    def quantum_path(m, f):
        core = m.core(m.angles(f))
        return core, m.fuse(m.readout(f), core)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (core, logits), (ref_core, ref_logits) = (
            jax.jit(functools.partial(m.apply, method=quantum_path))(variables, features) for m in (ours, reference))
    assert core.shape == (1, 4) and float(jnp.abs(core).max()) <= 1 and float(jnp.std(core)) > 1e-3
    np.testing.assert_allclose(core, ref_core, atol=1e-9)
    np.testing.assert_allclose(logits, ref_logits, atol=1e-9)


def test_the_learned_entanglement_block_has_default_qubits_gradients(x64):
    """ryrz_crx_all on 3 qubits, 2 re-uploading layers: values and vector-Jacobian products
    (inputs and weights) of the JAX simulator equal PennyLane default.qubit's."""
    spec = CircuitSpec(3, 2, "reupload", "Y", "ryrz_crx_all", "expval")
    rng = np.random.default_rng(6)
    x = jnp.asarray(rng.uniform(-1.5, 1.5, (2, 3)))
    w = jnp.asarray(rng.uniform(-math.pi, math.pi, weight_shape(spec)))
    cotangent = jnp.asarray(rng.normal(size=(2, 3)))

    def value_and_vjp(backend):
        fn = circuit_function(spec, backend)

        @jax.jit
        def run(x, w, cotangent):
            out, vjp = jax.vjp(fn, x, w)
            return (out, *vjp(cotangent))
        return run(x, w, cotangent)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got, ref = value_and_vjp("jax"), value_and_vjp("default.qubit")
    for name, a, b in zip(("values", "d/dinputs", "d/dweights"), got, ref):
        np.testing.assert_allclose(a, b, atol=1e-9, err_msg=name)
    assert float(jnp.abs(got[2][:, 6:]).min()) > 0  # every CRX angle has a gradient


def test_entanglement_map_is_the_pair_strength_of_each_crx():
    weights = np.zeros((3, 44))
    k = all_pairs(8).index((2, 5))
    weights[:, 16 + k] = [math.pi, math.pi / 3, 0.0]  # a maximal, a partial and no entangler
    weights[0, 16 + all_pairs(8).index((0, 7))] = 2 * math.pi  # CRX(2 pi) = Z on the control: local
    per_layer = snn_costs.entanglement_map({"params": {"core": {"quantum_weights": weights}}}, per_layer=True)
    assert per_layer.shape == (3, 8, 8)
    np.testing.assert_allclose(per_layer[:, 2, 5], [1.0, 0.5, 0.0], atol=1e-12)
    np.testing.assert_allclose(per_layer, np.swapaxes(per_layer, 1, 2))
    assert np.all(np.diagonal(per_layer, axis1=1, axis2=2) == 0)
    assert abs(per_layer[0, 0, 7]) < 1e-12
    mean = snn_costs.entanglement_map(weights)
    assert mean.shape == (8, 8) and abs(mean[5, 2] - 0.5) < 1e-12
    assert np.count_nonzero(mean > 1e-12) == 2  # only the pair (2, 5), both orders
    with pytest.raises(ValueError, match="ryrz_crx_all"):
        snn_costs.entanglement_map(np.zeros((3, 8, 2)))  # a ryrz_ring circuit's weights


def test_spike_statistics_per_stage():
    module, variables = models.create("snn_mlp", input_shape=(40, 3), n_outputs=2, **SMALL, **SMALL_CIRCUIT)
    stats = snn_costs.spike_statistics(module, variables, _x(4, 40, 3, seed=4))
    assert set(stats) == {"stages_0", "stages_1", "stages_2", "dense:readout", "dense:angle_map", "dense:core_readout"}
    steps = [20, 10, 5]  # strides 2: every stage steps at half its input's rate
    for i, (stage, width) in enumerate(zip(("stages_0", "stages_1", "stages_2"), SMALL["features"])):
        s = stats[stage]
        assert s["neurons"] == steps[i] * width and 0 <= s["spike_rate"] <= 1
        np.testing.assert_allclose(s["spikes"], s["spike_rate"] * s["neurons"], rtol=1e-5)
        assert s["synops"] <= s["macs"]
    assert stats["stages_0"]["input_activity"] == 1.0  # the analog ECG: dense MACs
    assert stats["stages_0"]["synops"] == stats["stages_0"]["macs"] == 20 * 5 * 3 * 4 - 3 * 4 * (2 + 1)  # 3 padded taps
    np.testing.assert_allclose(stats["stages_1"]["input_activity"], stats["stages_0"]["spike_rate"], rtol=1e-6)
    assert stats["dense:readout"]["macs"] == 2 * sum(SMALL["features"]) * 2


def test_checks_name_the_field():
    where = "students.snn_vqc"
    check = models.model_spec("snn_vqc").check
    check(models.model_config("snn_vqc"), None, where)
    for field, value, match in (
            ("features", (64, 128, 256), r"max_params=50000 exceeded: \d+ .*features"),
            ("strides", (2, 2), "one entry per stage"),
            ("beta", 1.0, r"beta=1\.0 must be in \(0, 1\)"),
            ("surrogate", "sigmoid", "surrogate must be one of"),
            ("gate", "vector", "gate must be one of"),
            ("encoding", "amplitude", "encoding='amplitude'"),
            ("block", "ring", "block must be one of")):
        cfg = models.model_config("snn_vqc")
        cfg[field] = value
        with pytest.raises(ConfigError, match=rf"--config\.{where}.*{match}"):
            check(cfg, None, where)
    cfg = models.model_config("snn")
    cfg.learn_beta, cfg.beta = False, 1.0  # a fixed beta may sit on the bound (no leak)
    models.model_spec("snn").check(cfg, None, "students.snn")
    fit = models.model_spec("snn").fit_to_data
    cfg = models.model_config("snn")
    fit(cfg, InputView(1000, tuple(f"l{i}" for i in range(12))), "students.snn")
    assert cfg.n_leads == 12
    with pytest.raises(ConfigError, match=r"--config\.students\.snn\.n_leads=12 but the data's windows have 1"):
        fit(cfg, InputView(1000, ("II",)), "students.snn")


def test_the_hybrid_learns_a_separable_toy_problem():
    """Four classes, each told by which of four leads carries a +0.5 offset under unit noise (a
    linear statistic of the window: separable). Every step sees a fresh batch and one compiled
    scan runs all steps; the loss must fall from chance (ln 4) to well below it. (snn_vqc only:
    it trains the spiking path, the circuit and the gate at once, and each compile costs seconds.)"""
    steps, batch, length, k = 250, 32, 32, 4
    module, variables = models.create("snn_vqc", input_shape=(length, k), n_outputs=k, features=(4, 4, 4),
                                      kernel_sizes=(5, 3, 3), **SMALL_CIRCUIT)
    rng = np.random.default_rng(5)
    y = jnp.asarray(rng.integers(0, k, (steps, batch)), jnp.int32)
    x = jnp.asarray(rng.normal(size=(steps, batch, length, k)), jnp.float32)
    x = x + 0.5 * jax.nn.one_hot(y, k)[:, :, None, :]
    tx = optax.adam(1e-2)

    @jax.jit
    def train(params, batch_stats):
        def step(carry, data):
            params, batch_stats, state = carry
            x, y = data

            def loss(p):
                logits, new = module.apply({"params": p, "batch_stats": batch_stats}, x, train=True,
                                           mutable=["batch_stats"])
                return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), new["batch_stats"]

            (value, batch_stats), grads = jax.value_and_grad(loss, has_aux=True)(params)
            updates, state = tx.update(grads, state, params)
            return (optax.apply_updates(params, updates), batch_stats, state), value
        (params, batch_stats, _), losses = jax.lax.scan(step, (params, batch_stats, tx.init(params)), (x, y))
        return params, batch_stats, losses

    params, batch_stats, losses = train(variables["params"], variables["batch_stats"])
    losses = np.asarray(losses)
    assert np.all(np.isfinite(losses))
    start, end = losses[:3].mean(), losses[-25:].mean()
    assert start > 1.0 and end < 0.4 * start, losses[::25]
    logits = module.apply({"params": params, "batch_stats": batch_stats}, x[-1])  # inference mode
    assert float(jnp.mean(jnp.argmax(logits, -1) == y[-1])) > 0.8
    assert float(jnp.abs(params["fusion_gate"] - variables["params"]["fusion_gate"])) > 1e-3  # the gate trained
