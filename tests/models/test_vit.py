"""ViT / QViT students and the resnet2d teacher: parameter counts (analytic = built), vit matched to
qvit within 10%, the circuits are ecgq.quantum VQCs on every backend, images and ECG windows alike."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ecgq import models
from ecgq.errors import ConfigError
from ecgq.models import vit
from ecgq.quantum.config import quantum_config

SHAPES = [(28, 28, 1), (32, 32, 3), (256, 1)]


def _abstract(name, shape, n_outputs=2, **overrides):
    box = {}

    def build():
        box["module"], variables = models.create(name, input_shape=shape, n_outputs=n_outputs, **overrides)
        return variables

    variables = jax.eval_shape(build)  # traced, not compiled
    return box["module"], variables


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("overrides", [{}, {"n_heads": 2, "depth": 2, "pooling": "mean"},
                                       {"quantum_mlp": True, "circuit_layers": 2, "hidden_size": 5}])
def test_analytic_count_is_the_built_count(shape, overrides):
    _, variables = _abstract("qvit", shape, 3, **overrides)
    counts = models.count_params(variables)
    cfg = models.model_config("qvit")
    cfg.update(overrides)
    assert vit.qvit_params(cfg, shape, 3) == counts["classical"] + counts["quantum"]
    layers = cfg.circuit_layers
    maps = cfg.depth * (4 * cfg.n_heads + bool(cfg.quantum_mlp))
    assert counts["quantum"] == maps * layers * cfg.hidden_size  # rx_ring: one angle per qubit and layer

    plain = {k: v for k, v in overrides.items() if k not in ("quantum_mlp", "circuit_layers", "hidden_size")}
    _, variables = _abstract("vit", shape, 3, hidden=6, **plain)
    total = sum(models.count_params(variables).values())
    assert total == vit.count_params(shape, hidden=6, mlp_dim=16, n_heads=cfg.n_heads,
                                     depth=cfg.depth, patch=7, pooling=cfg.pooling, n_outputs=3)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("suffix", ["", "_2h"])
@pytest.mark.parametrize("n_outputs", [2, 9])
def test_vit_defaults_to_the_parameter_count_of_qvit(shape, suffix, n_outputs):
    q = sum(models.count_params(_abstract(f"qvit{suffix}", shape, n_outputs)[1]).values())
    module, variables = _abstract(f"vit{suffix}", shape, n_outputs)
    c = sum(models.count_params(variables).values())
    assert abs(c - q) <= 0.10 * q, (c, q)
    assert module.hidden_size < 8  # the matched ViT is narrower, not wider
    assert models.count_params(variables)["quantum"] == 0


def test_qvit_maps_are_vqcs_that_shape_the_logits():
    module, variables = models.create("qvit_2h", input_shape=(14, 14, 3), n_outputs=4, hidden_size=3)
    qkv = variables["params"]["attn0"]["qkv"]
    assert qkv["VQC_0"]["quantum_weights"].shape == (3 * 2, 1, 3)  # Q, K, V of 2 heads; 1 layer; 3 qubits
    x = jax.random.uniform(jax.random.key(0), (2, 14, 14, 3))
    grads = jax.grad(lambda p: module.apply({"params": p}, x).sum())(variables["params"])
    for name in ("qkv", "out"):
        assert float(jnp.abs(grads["attn0"][name]["VQC_0"]["quantum_weights"]).max()) > 1e-6, name
    assert module.apply(variables, x).shape == (2, 4)


def test_qvit_under_finite_shots_draws_samples_in_every_stacked_map():
    x = jax.random.normal(jax.random.key(1), (3, 14, 1))
    module, variables = models.create("qvit", input_shape=(14, 1), n_outputs=2, hidden_size=3)
    sim = quantum_config()
    sim.shots = 50
    cfg = models.model_config("qvit")
    cfg.hidden_size = 3
    shots = models.build_model("qvit", cfg, 2, sim)
    a, b = (shots.apply(variables, x, rngs={"shots": jax.random.key(k)}) for k in (0, 1))
    exact = module.apply(variables, x)
    assert a.shape == exact.shape and not np.allclose(a, b) and not np.allclose(a, exact)
    np.testing.assert_allclose(a, exact, atol=1.0)  # 50 shots: near the exact logits, not equal


def test_qvit_on_pennylane_equals_the_fused_simulator():
    x = jax.random.normal(jax.random.key(1), (2, 14, 1))  # an ECG window: 2 patches of 7 samples
    sim = quantum_config()
    module, variables = models.create("qvit", input_shape=(14, 1), n_outputs=2, hidden_size=3, quantum=sim)
    sim.backend = "default.qubit"
    cfg = models.model_config("qvit")
    cfg.hidden_size = 3
    other = models.build_model("qvit", cfg, 2, sim)
    np.testing.assert_allclose(other.apply(variables, x), module.apply(variables, x), atol=1e-5)


def test_ecg_windows_are_cut_into_patches():
    module, variables = models.create("qvit", input_shape=(256, 1), n_outputs=2, patch_size=16, hidden_size=3)
    assert variables["params"]["positions"].shape == (1, 256 // 16 + 1, 3)
    assert module.apply(variables, jnp.zeros((5, 256, 1))).shape == (5, 2)


def test_bad_sizes_name_the_field():
    with pytest.raises(ConfigError, match="patch_size=7 is larger"):
        models.create("vit", input_shape=(5, 5, 1), n_outputs=2)
    with pytest.raises(ConfigError, match="hidden_size=13"):
        models.create("qvit", input_shape=(28, 28, 1), n_outputs=2, hidden_size=13)
    with pytest.raises(ConfigError, match="pooling"):
        models.create("vit", input_shape=(28, 28, 1), n_outputs=2, pooling="max")


@pytest.mark.parametrize("shape", [(28, 28, 1), (64, 64, 3), (256, 2)])
def test_resnet2d_teacher_takes_images_and_windows(shape):
    assert models.model_spec("resnet2d").role == "teacher"
    module, variables = _abstract("resnet2d", shape, 5)
    out = jax.eval_shape(lambda v, x: module.apply(v, x), variables, jnp.zeros((2, *shape)))
    assert out.shape == (2, 5)
