"""Classical students and the small teacher: shapes, sizes, RR features, train mode, jit + vmap."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ecgq import models

STUDENTS = ("cnn1d", "resnet1d")
CLASSICAL = (*STUDENTS, "ecgfounder_small")
# (low, high) bounds on the default parameter counts promised in the docs.
SIZE_RANGES = {"cnn1d": (10_000, 30_000), "resnet1d": (150_000, 600_000),
               "ecgfounder_small": (50_000, 1_000_000)}


def _x(batch=4, length=256, leads=1, seed=0):
    return jax.random.normal(jax.random.key(seed), (batch, length, leads))


@pytest.mark.parametrize("name", CLASSICAL)
def test_shapes_and_parameter_counts(name):
    module = models.build_model(name, models.model_config(name), n_outputs=5)
    variables = jax.jit(module.init)(jax.random.key(0), _x())
    assert jax.jit(module.apply)(variables, _x()).shape == (4, 5)
    counts = models.count_params(variables)
    low, high = SIZE_RANGES[name]
    assert counts["quantum"] == 0 and low <= counts["classical"] <= high, counts


def test_exact_default_counts():
    expected = {"cnn1d": 19_554, "resnet1d": 273_058}
    for name, count in expected.items():
        module = models.build_model(name, models.model_config(name), n_outputs=2)
        shapes = jax.eval_shape(module.init, jax.random.key(0), _x())
        assert models.count_params(shapes)["classical"] == count


def test_ecgfounder_registry_count_and_features():
    module = models.build_model("ecgfounder", models.model_config("ecgfounder"), n_outputs=150)
    shapes = jax.eval_shape(module.init, jax.random.key(0), jnp.zeros((1, 5000, 12)))
    assert models.count_params(shapes) == {"classical": 30_752_646, "quantum": 0}
    logits, features = jax.eval_shape(
        lambda v, x: module.apply(v, x, return_features=True), shapes, jnp.zeros((2, 5000, 12)))
    assert logits.shape == (2, 150) and features.shape == (2, 1024)
    with_rr = jax.eval_shape(module.init, jax.random.key(0), jnp.zeros((1, 5000, 12)),
                             jnp.zeros((1, 3)))
    assert with_rr["params"]["dense"]["kernel"].shape == (1024 + 3, 150)


# The small teacher has neither BatchNorm nor dropout, and its RR path is the Net1D one checked
# at shape level in test_ecgfounder_registry_count_and_features: it is left out of these two
# (its compilation is the slowest of the classical models on the 2-core CI).
@pytest.mark.parametrize("name", STUDENTS)
def test_rr_features_join_the_head(name):
    module = models.build_model(name, models.model_config(name), n_outputs=3)
    rr = jnp.ones((4, 3))
    with_rr = jax.jit(module.init)(jax.random.key(0), _x(), rr)
    without = jax.eval_shape(module.init, jax.random.key(0), _x())
    # The head's first layer gains 3 input rows (x its width: 3 logits, or cnn1d's 32 hidden).
    extra = models.count_params(with_rr)["classical"] - models.count_params(without)["classical"]
    assert extra == 3 * (32 if name == "cnn1d" else 3)
    apply = jax.jit(module.apply)
    a, b = apply(with_rr, _x(), rr), apply(with_rr, _x(), 2 * rr)
    assert a.shape == (4, 3) and not np.allclose(a, b)


@pytest.mark.parametrize("name", STUDENTS)
def test_train_mode_updates_batch_stats_and_uses_dropout(name):
    module = models.build_model(name, models.model_config(name), n_outputs=2)
    variables = jax.jit(module.init)(jax.random.key(0), _x())
    rngs = {"dropout": jax.random.key(1)}
    if "batch_stats" in variables:
        logits, updated = jax.jit(lambda v, x: module.apply(
            v, x, train=True, mutable=["batch_stats"], rngs=rngs))(variables, _x())
        changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), variables["batch_stats"],
                               updated["batch_stats"])
        assert all(jax.tree.leaves(changed))
    else:
        logits = jax.jit(lambda v, x: module.apply(v, x, train=True, rngs=rngs))(variables, _x())
    assert logits.shape == (4, 2) and np.all(np.isfinite(logits))


@pytest.mark.parametrize("name", CLASSICAL)
def test_jit_and_vmap_over_seeds(name):
    module = models.build_model(name, models.model_config(name), n_outputs=2)
    x = _x()
    keys = jax.random.split(jax.random.key(0), 3)
    stacked = jax.jit(jax.vmap(lambda k: module.init(k, x)))(keys)
    logits = jax.jit(jax.vmap(lambda v: module.apply(v, x)))(stacked)
    assert logits.shape == (3, 4, 2)
    assert not np.allclose(logits[0], logits[1])  # different seeds, different members
    single = jax.jit(module.apply)(jax.tree.map(lambda a: a[1], stacked), x)
    np.testing.assert_allclose(logits[1], single, rtol=1e-5, atol=1e-5)


def test_unknown_model_is_refused():
    with pytest.raises(ValueError, match="unknown model 'lstm'"):
        models.model_config("lstm")
    with pytest.raises(ValueError, match="unknown model 'lstm'"):
        models.build_model("lstm", models.model_config("cnn1d"), 2)


def test_every_config_field_is_documented():
    for name in models.MODEL_NAMES:
        undocumented = [k for k in models.model_config(name) if k not in models.FIELD_DOCS]
        assert not undocumented, (name, undocumented)
