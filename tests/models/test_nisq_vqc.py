"""nisq_vqc and its classical control nisq_mlp: the 500-parameter budget, shapes, inputs reaching
the logits only through the circuit (or its classical stand-in), the checks, and that it learns."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ecgq import models
from ecgq.errors import ConfigError
from ecgq.models import nisq_vqc
from ecgq.models.controls import MatchedDense
from ecgq.models.registry import InputView
from ecgq.quantum import VQC

NAMES = ("nisq_vqc", "nisq_mlp")
TOPS = {"front_end", "angle_map", "core", "readout"}


def _inputs(batch=4, length=256, leads=1, n_rr=7, seed=0):
    kx, kr = jax.random.split(jax.random.key(seed))
    return jax.random.normal(kx, (batch, length, leads)), jax.random.normal(kr, (batch, n_rr))


def _create(name, input_shape=(256, 1), n_outputs=2, rr_dim=7, seed=0, **fields):
    """``(module, variables)`` sized as ``models.create`` does, with random parameters drawn around
    ``jax.eval_shape`` of the init: no init is compiled (XLA:CPU spends seconds on the circuit's)."""
    box = {}

    def build():
        box["module"], variables = models.create(name, input_shape=input_shape, n_outputs=n_outputs,
                                                 rr_dim=rr_dim, **fields)
        return variables

    shapes = jax.eval_shape(build)
    leaves, tree = jax.tree.flatten(shapes)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    values = [jax.random.uniform(k, s.shape, s.dtype, -0.5, 0.5) for k, s in zip(keys, leaves)]
    return box["module"], jax.tree.unflatten(tree, values)


def _total(variables) -> int:
    return sum(models.count_params(variables).values())


def test_registered_as_a_quantum_student_and_its_control():
    vqc, mlp = models.model_spec("nisq_vqc"), models.model_spec("nisq_mlp")
    assert (vqc.role, vqc.family, vqc.uses_quantum, vqc.control) == ("student", "quantum", True, "nisq_mlp")
    assert (mlp.role, mlp.family, mlp.uses_quantum, mlp.control) == ("student", "classical", False, "")
    cfg = models.model_config("nisq_vqc")
    assert (cfg.encoding, cfg.max_params, cfg.n_leads, cfg.n_rr) == ("reupload", 500, 0, 7)


# (input_shape, rr_dim, n_outputs): MIT-BIH beats with RR features (binary, AAMI-5), and the
# synthetic dataset's windows (256 samples, 1 lead, no RR) with its 4 classes (its binary task
# has a smaller readout).
SHAPES = [((256, 1), 7, 2), ((256, 1), 7, 5), ((256, 1), None, 4)]


@pytest.mark.parametrize("name", NAMES)
def test_budget_and_shapes(name):
    for shape, rr_dim, n_outputs in SHAPES:
        module, variables = _create(name, shape, n_outputs, rr_dim)
        assert set(variables["params"]) == TOPS and set(variables) == {"params"}
        counts = models.count_params(variables)
        cfg = models.model_config(name)
        cfg.n_leads = shape[1]
        expected = nisq_vqc.param_counts(cfg, name == "nisq_vqc", shape[1], rr_dim or 0, n_outputs)
        assert sum(counts.values()) == sum(expected.values()) <= 500, (counts, expected)
        if name == "nisq_vqc":
            assert counts["quantum"] == expected["circuit"] == 36  # 6 qubits x 3 layers x (RY, RZ)
            assert all(k.startswith("quantum_") for k in variables["params"]["core"])
        else:
            assert counts["quantum"] == 0
        x, rr = _inputs(3, *shape, n_rr=rr_dim or 1)
        logits = jax.eval_shape(module.apply, variables, x, None if rr_dim is None else rr)
        assert logits.shape == (3, n_outputs)


def test_the_control_matches_the_circuit():
    vqc, vqc_vars = _create("nisq_vqc")
    mlp, mlp_vars = _create("nisq_mlp")
    quantum = models.count_params(vqc_vars)["quantum"]
    control = _total({"params": mlp_vars["params"]["core"]})
    assert (quantum, control) == (36, 32)  # hidden width 2; 3 would give 45
    for top in TOPS - {"core"}:  # everything but the core is the same architecture
        assert jax.tree.map(jnp.shape, vqc_vars["params"][top]) == jax.tree.map(jnp.shape, mlp_vars["params"][top])
    assert _total(vqc_vars) - _total(mlp_vars) == quantum - control
    x, rr = _inputs()
    out = mlp.apply(mlp_vars, x, rr, method=lambda m, x, rr: m.core(m.angles(x, rr)))
    assert out.shape == (4, 6) and float(jnp.abs(out).max()) <= 1.0  # the shape and range of <Z>
    # Angles stay inside (-pi/2, pi/2): the two tails of a feature never wrap onto one state.
    angles = mlp.apply(mlp_vars, 100 * x, 100 * rr, method="angles")
    assert angles.shape == (4, 6) and float(jnp.abs(angles).max()) <= np.float32(np.pi / 2)
    outs = jax.eval_shape(lambda v: vqc.apply(v, x, rr, method=lambda m, x, rr: m.core(m.angles(x, rr))), vqc_vars)
    assert outs.shape == out.shape


def _replace_core(value):
    """An interceptor that replaces the output of the core (the VQC, or the control's layer) by
    ``value(output)``, or by zeros (the core not run) when ``value`` is None."""
    def interceptor(next_fun, args, kwargs, context):
        if isinstance(context.module, (VQC, MatchedDense)) and context.method_name == "__call__":
            if value is None:
                return jnp.zeros(args[0].shape[:-1] + (context.module.n_qubits if isinstance(
                    context.module, VQC) else context.module.n_out,))
            return value(next_fun(*args, **kwargs))
        return next_fun(*args, **kwargs)
    return interceptor


@pytest.mark.parametrize("name", NAMES)
def test_inputs_reach_the_logits_only_through_the_core(name):
    """With the core's output cut from the inputs, no input moves the logits: a window or RR
    feature joined anywhere after the circuit (e.g. concatenated to the readout) fails this."""
    module, variables = _create(name, seed=3)
    x, rr = _inputs(seed=1)

    def total(x, rr):
        return jnp.sum(module.apply(variables, x, rr) ** 2)

    def cut_total(x, rr):
        with nn.intercept_methods(_replace_core(jax.lax.stop_gradient)):
            return total(x, rr)

    @jax.jit
    def probe(x, rr):
        with nn.intercept_methods(_replace_core(None)):  # a constant core output
            constant = (module.apply(variables, x, rr), module.apply(variables, -3 * x, rr + 5.0))
        return (jax.grad(total, argnums=(0, 1))(x, rr), jax.grad(cut_total, argnums=(0, 1))(x, rr),
                constant)

    (gx, grr), (cut_gx, cut_grr), (a, b) = probe(x, rr)
    assert np.all(np.isfinite(gx)) and np.all(np.isfinite(grr))
    assert float(jnp.abs(gx).max()) > 0 and float(jnp.abs(grr).max()) > 0  # through the core they do
    assert float(jnp.abs(cut_gx).max()) == 0 and float(jnp.abs(cut_grr).max()) == 0
    np.testing.assert_array_equal(a, b)  # a constant core output: the same logits whatever the inputs


def test_budget_and_structure_checks_name_the_field():
    check = models.model_spec("nisq_vqc").check
    where = "students.nisq_vqc"
    cfg = models.model_config("nisq_vqc")
    check(cfg, None, where)
    cfg.n_morph = 40
    with pytest.raises(ConfigError, match=r"--config\.students\.nisq_vqc\.max_params=500 exceeded: \d+ .*"
                                          r"--config\.students\.nisq_vqc\.n_morph"):
        check(cfg, None, where)
    cfg = models.model_config("nisq_vqc")
    cfg.encoding = "amplitude"
    with pytest.raises(ConfigError, match=r"--config\.students\.nisq_vqc\.encoding='amplitude'"):
        check(cfg, None, where)
    cfg = models.model_config("nisq_vqc")
    cfg.n_qubits, cfg.n_morph, cfg.n_rr = 6, 2, 3  # 5 features cannot fill 6 qubits
    with pytest.raises(ConfigError, match=r"--config\.students\.nisq_vqc\.n_qubits=6 .* n_morph \+ n_rr = 5"):
        check(cfg, None, where)
    cfg = models.model_config("nisq_mlp")
    cfg.n_layers = 0
    with pytest.raises(ConfigError, match=r"--config\.students\.nisq_mlp\.n_layers must be >= 1"):
        models.model_spec("nisq_mlp").check(cfg, None, "students.nisq_mlp")
    # Many classes overflow the budget at build time (the readout grows with them).
    with pytest.raises(ConfigError, match=r"--config\.nisq_vqc\.max_params=500 exceeded"):
        models.create("nisq_vqc", input_shape=(256, 1), n_outputs=60)


def test_leads_come_from_the_data_and_count_against_the_budget():
    fit = models.model_spec("nisq_vqc").fit_to_data
    cfg = models.model_config("nisq_vqc")
    fit(cfg, InputView(256, ("MLII",)), "students.nisq_vqc")
    assert cfg.n_leads == 1
    fit(cfg, InputView(256, ("MLII",)), "students.nisq_vqc")  # idempotent
    with pytest.raises(ConfigError, match=r"--config\.students\.nisq_vqc\.n_leads=1 but the data's windows have 2"):
        fit(cfg, InputView(256, ("MLII", "V1")), "students.nisq_vqc")
    cfg = models.model_config("nisq_vqc")
    with pytest.raises(ConfigError, match=r"--config\.students\.nisq_vqc\.max_params=500 exceeded.* 12 lead"):
        fit(cfg, InputView(256, tuple(f"l{i}" for i in range(12))), "students.nisq_vqc")
    cfg = models.model_config("nisq_vqc")
    cfg.pool_bins = 200  # the stride-2 convolution leaves 128 samples of a 256-sample window
    with pytest.raises(ConfigError, match=r"--config\.students\.nisq_vqc\.pool_bins=200 exceeds the 128"):
        fit(cfg, InputView(256, ("MLII",)), "students.nisq_vqc")


def test_segment_pool_handles_uneven_bins():
    h = jnp.arange(10.0).reshape(1, 10, 1)
    np.testing.assert_allclose(nisq_vqc.segment_pool(h, 5, "mean")[0, :, 0], [0.5, 2.5, 4.5, 6.5, 8.5])
    np.testing.assert_allclose(nisq_vqc.segment_pool(h, 3, "max")[0, :, 0], [2, 6, 9])  # edges 0, 3, 7, 10


@pytest.mark.parametrize("name", NAMES)
def test_learns_labels_carried_by_the_rr_features_alone(name):
    """Labels set by one RR feature, windows of pure noise: the model must carry RR through the
    circuit to beat chance. Every step sees a fresh batch, scored before the model trains on it,
    so the last steps' accuracy is held-out accuracy (and one compiled program does it all)."""
    module, variables = _create(name, input_shape=(64, 1))
    steps, batch, scored = 200, 64, 40
    rng = np.random.default_rng(0)
    rr = jnp.asarray(rng.standard_normal((steps, batch, 7)), jnp.float32)
    x = jnp.asarray(rng.standard_normal((steps, batch, 64, 1)), jnp.float32)
    y = (rr[..., 0] < 0).astype(jnp.int32)  # premature beats: a short pre-RR interval
    tx = optax.adam(3e-2)

    def loss(params, x, rr, y):
        logits = module.apply({"params": params}, x, rr)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), logits

    @jax.jit
    def train(params):
        def step(carry, batch):
            params, state = carry
            (_, logits), grads = jax.value_and_grad(loss, has_aux=True)(params, *batch)
            updates, state = tx.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), jnp.mean(jnp.argmax(logits, -1) == batch[2])
        _, accuracy = jax.lax.scan(step, (params, tx.init(params)), (x, rr, y))
        return accuracy

    accuracy = train(variables["params"])
    assert float(accuracy[:5].mean()) < 0.65  # it starts near chance
    assert float(accuracy[-scored:].mean()) > 0.85, np.asarray(accuracy)


def test_meanmax_pooling_stacks_both_statistics_and_is_budgeted():
    h = jnp.arange(10, dtype=jnp.float32).reshape(1, 10, 1)
    np.testing.assert_allclose(nisq_vqc.segment_pool(h, 2, "meanmax")[0], [[2, 4], [7, 9]])
    fields = {"pool_bins": 1, "pooling": "meanmax", "conv_features": 8, "conv_kernel": 31}  # the default study's
    for name in NAMES:
        _, variables = _create(name, (256, 1), 2, None, **fields)
        cfg = models.model_config(name)
        cfg.update(fields)
        cfg.n_leads = 1
        expected = nisq_vqc.param_counts(cfg, name == "nisq_vqc", 1, 0, 2)
        assert sum(models.count_params(variables).values()) == sum(expected.values()) <= 500
