"""Classical students and the small teacher: shapes, sizes, RR features, train mode, jit + vmap."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from model_helpers import random_params

from ecgq import models

STUDENTS = ("cnn1d", "resnet1d")
# (low, high) bounds on the default parameter counts promised in the docs.
SIZE_RANGES = {"cnn1d": (10_000, 30_000), "resnet1d": (150_000, 600_000),
               "ecgfounder_small": (50_000, 1_000_000)}


def _x(batch=4, length=256, leads=1, seed=0):
    return jax.random.normal(jax.random.key(seed), (batch, length, leads))


@pytest.fixture(scope="module", params=STUDENTS)
def student(request):
    """``(name, module, variables)`` of each student, 2 outputs, created once per test worker."""
    module, variables = models.create(request.param, input_shape=(256, 1), n_outputs=2)
    return request.param, module, variables


def test_registered_roles():
    for name in STUDENTS:
        spec = models.model_spec(name)
        assert (spec.role, spec.family, spec.uses_quantum) == ("student", "classical", False)
    for name in ("ecgfounder", "ecgfounder_small"):
        assert models.model_spec(name).role == "teacher"


def test_shapes_and_parameter_counts(student):
    name, module, variables = student
    logits = jax.jit(module.apply)(variables, _x())
    assert logits.shape == (4, 2) and np.all(np.isfinite(logits))
    _check_counts(name, variables)


def test_small_teacher_shapes_and_parameter_count():
    module = models.build_model("ecgfounder_small", models.model_config("ecgfounder_small"), 2)
    variables = {"params": random_params(module)}
    logits = jax.jit(module.apply)(variables, _x())
    assert logits.shape == (4, 2) and np.all(np.isfinite(logits))
    _check_counts("ecgfounder_small", variables)


def _check_counts(name, variables):
    counts = models.count_params(variables)
    low, high = SIZE_RANGES[name]
    assert counts["quantum"] == 0 and low <= counts["classical"] <= high, counts


def test_exact_default_counts():
    expected = {"cnn1d": 19_554, "resnet1d": 273_058, "ecgfounder_small": 188_362}
    for name, count in expected.items():
        module = models.build_model(name, models.model_config(name), n_outputs=2)
        shapes = jax.eval_shape(module.init, jax.random.key(0), _x())
        assert models.count_params(shapes) == {"classical": count, "quantum": 0}, name


def test_count_params_ignores_batch_stats(student):
    _, _, variables = student
    in_params = sum(int(np.prod(a.shape)) for a in jax.tree.leaves(variables["params"]))
    assert sum(int(np.prod(a.shape)) for a in jax.tree.leaves(variables)) > in_params  # BN stats
    assert models.count_params(variables)["classical"] == in_params
    assert models.count_params(variables["params"])["classical"] == in_params


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
# at shape level in test_ecgfounder_registry_count_and_features: it is left out of these two.
@pytest.mark.parametrize("name", STUDENTS)
def test_rr_features_join_the_head(name):
    rr = jnp.ones((4, 3))
    module, with_rr = models.create(name, input_shape=(256, 1), n_outputs=3, rr_dim=3)
    without = jax.eval_shape(module.init, jax.random.key(0), _x())
    # The head's first layer gains 3 input rows (x its width: 3 logits, or cnn1d's 32 hidden).
    extra = models.count_params(with_rr)["classical"] - models.count_params(without)["classical"]
    assert extra == 3 * (32 if name == "cnn1d" else 3)
    apply = jax.jit(module.apply)
    a, b = apply(with_rr, _x(), rr), apply(with_rr, _x(), 2 * rr)
    assert a.shape == (4, 3) and not np.allclose(a, b)


def test_train_mode_updates_batch_stats_and_uses_dropout(student):
    _, module, variables = student
    assert "batch_stats" in variables
    train = jax.jit(lambda v, x, key: module.apply(
        v, x, train=True, mutable=["batch_stats"], rngs={"dropout": key}))
    logits, updated = train(variables, _x(), jax.random.key(1))
    changed = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), variables["batch_stats"],
                           updated["batch_stats"])
    assert all(jax.tree.leaves(changed))
    assert logits.shape == (4, 2) and np.all(np.isfinite(logits))
    # Dropout draws from the key in train mode only.
    other, _ = train(variables, _x(), jax.random.key(2))
    assert not np.allclose(logits, other)
    inference = jax.jit(module.apply)
    np.testing.assert_array_equal(inference(variables, _x()), inference(variables, _x()))


def test_jit_and_vmap_over_seeds(student):
    _, module, _ = student
    x = _x()
    keys = jax.random.split(jax.random.key(0), 3)
    stacked = jax.jit(jax.vmap(lambda k: module.init(k, x)))(keys)
    logits = jax.jit(jax.vmap(lambda v: module.apply(v, x)))(stacked)
    assert logits.shape == (3, 4, 2)
    assert not np.allclose(logits[0], logits[1])  # different seeds, different members
    single = jax.jit(module.apply)(jax.tree.map(lambda a: a[1], stacked), x)
    np.testing.assert_allclose(logits[1], single, rtol=1e-5, atol=1e-5)


def test_small_teacher_vmaps_over_members():
    # Net1D's grouped convolutions under vmap; random member weights (its init is the slow part).
    module = models.build_model("ecgfounder_small", models.model_config("ecgfounder_small"), 2)
    members = [random_params(module, seed=s) for s in range(3)]
    stacked = jax.tree.map(lambda *a: jnp.stack(a), *members)
    x = _x()
    logits = jax.jit(jax.vmap(lambda p: module.apply({"params": p}, x)))(stacked)
    assert logits.shape == (3, 4, 2) and not np.allclose(logits[0], logits[1])
    single = jax.jit(module.apply)({"params": members[1]}, x)
    np.testing.assert_allclose(logits[1], single, rtol=1e-5, atol=1e-5)


def test_students_train_every_parameter():
    for name in STUDENTS:
        params = jax.eval_shape(models.build_model(name, models.model_config(name), 2).init,
                                jax.random.key(0), _x())["params"]
        mask = models.trainable_mask(name, models.model_config(name), params)
        assert jax.tree.structure(mask) == jax.tree.structure(params)
        assert all(leaf is True for leaf in jax.tree.leaves(mask))
