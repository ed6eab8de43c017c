"""The quantum student: sizes split classical/quantum, gradients reach the VQC, freezing works."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ecgq import models
from ecgq.models import ae_vqc
from ecgq.quantum.config import quantum_config


@pytest.fixture(scope="module")
def student():
    module = models.build_model("ae_vqc", models.model_config("ae_vqc"), n_outputs=2)
    x = jax.random.normal(jax.random.key(0), (4, 256, 1))
    variables = jax.jit(module.init)(jax.random.key(1), x)
    return module, variables, x


def test_shapes_counts_and_reconstruction(student):
    module, variables, x = student
    assert jax.jit(module.apply)(variables, x).shape == (4, 2)
    recon = jax.jit(lambda v, x: module.apply(v, x, method="reconstruct"))(variables, x)
    assert recon.shape == x.shape
    counts = models.count_params(variables)
    assert counts["quantum"] > 0 and counts["classical"] > 0
    quantum = sum(int(np.prod(a.shape)) for a in jax.tree.leaves(variables["params"]["vqc"]))
    assert counts["quantum"] == quantum
    assert set(variables["params"]) == {"encoder", "decoder", "vqc", "readout"}


def _grads(module, variables, x):
    loss = lambda p: jnp.sum(module.apply({"params": p}, x) ** 2)  # noqa: E731
    return jax.jit(jax.grad(loss))(variables["params"])


def test_gradients_reach_the_vqc_and_frozen_encoder_gets_none(student):
    module, variables, x = student
    grads = _grads(module, variables, x)
    assert float(jnp.abs(grads["vqc"]["quantum_weights"]).max()) > 0
    assert float(jnp.abs(grads["readout"]["kernel"]).max()) > 0
    assert all(float(jnp.abs(g).max()) == 0 for g in jax.tree.leaves(grads["encoder"]))


def test_unfrozen_encoder_fine_tunes(student):
    _, variables, x = student
    cfg = models.model_config("ae_vqc")
    cfg.freeze_encoder = False
    module = models.build_model("ae_vqc", cfg, n_outputs=2)
    grads = _grads(module, variables, x)
    assert float(jnp.abs(grads["encoder"]["to_latent"]["kernel"]).max()) > 0
    assert float(jnp.abs(grads["vqc"]["quantum_weights"]).max()) > 0
    mask = models.trainable_mask("ae_vqc", cfg, variables["params"])
    assert all(jax.tree.leaves(mask["encoder"])) and not any(jax.tree.leaves(mask["decoder"]))
    cfg.freeze_encoder = True
    mask = models.trainable_mask("ae_vqc", cfg, variables["params"])
    assert not any(jax.tree.leaves(mask["encoder"])) and all(jax.tree.leaves(mask["vqc"]))


def test_rr_features_join_the_readout(student):
    module, _, x = student
    rr = jnp.ones((4, 3))
    variables = jax.jit(module.init)(jax.random.key(1), x, rr)
    assert variables["params"]["readout"]["kernel"].shape[0] == 6 + 3
    assert jax.jit(module.apply)(variables, x, rr).shape == (4, 2)


def test_jit_and_vmap_over_seeds(student):
    module, _, x = student
    keys = jax.random.split(jax.random.key(0), 3)
    stacked = jax.jit(jax.vmap(lambda k: module.init(k, x)))(keys)
    logits = jax.jit(jax.vmap(lambda v: module.apply(v, x)))(stacked)
    assert logits.shape == (3, 4, 2) and not np.allclose(logits[0], logits[1])
    assert stacked["params"]["vqc"]["quantum_weights"].shape[0] == 3


def test_latent_must_match_the_qubits():
    cfg = models.model_config("ae_vqc")
    cfg.latent_dim = 4
    with pytest.raises(ValueError, match="latent_dim=4 but the VQC has 6 qubits"):
        models.build_model("ae_vqc", cfg, 2, quantum_config())


def test_angle_scaling_is_bounded():
    z = jnp.array([-100.0, 0.0, 100.0])
    np.testing.assert_allclose(ae_vqc.latent_to_angles(z, "pi_tanh"), [-np.pi, 0, np.pi], atol=1e-5)
    with pytest.raises(ValueError, match="angle_scaling"):
        ae_vqc.latent_to_angles(z, "sigmoid")
