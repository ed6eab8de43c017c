"""The quantum student and its control: sizes, gradients reach the circuit, freezing works, and
every input (RR included) reaches the logits only through the circuit."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ecgq import models
from ecgq.errors import ConfigError
from ecgq.models import ae_vqc
from ecgq.quantum.config import quantum_config
from ecgq.train import steps
from ecgq.train.config import train_config

TOPS = {"encoder", "decoder", "core", "readout_hidden_layer", "readout"}


@pytest.fixture(scope="module")
def student():
    """The registered ae_vqc (default config and circuit) sized by ``create`` from 256-sample windows."""
    module, variables = models.create("ae_vqc", input_shape=(256, 1), n_outputs=2, seed=1)
    x = jax.random.normal(jax.random.key(0), (4, 256, 1))
    return module, variables, x


def _built(**fields):
    """ae_vqc with the registered config plus ``fields`` (window_length 256), for ``student``'s variables."""
    cfg = models.model_config("ae_vqc")
    cfg.window_length = 256
    cfg.update(fields)
    return models.build_model("ae_vqc", cfg, n_outputs=2), cfg


def test_registered_as_the_quantum_student():
    spec = models.model_spec("ae_vqc")
    assert (spec.role, spec.family, spec.uses_quantum, spec.pretraining) == (
        "student", "quantum", True, "autoencoder")
    cfg = models.model_config("ae_vqc")
    assert cfg.window_length == 0 and cfg.latent_dim == 0  # both sized from the data / the circuit


def test_shapes_counts_and_reconstruction(student):
    module, variables, x = student
    assert module.window_length == 256 and module.latent_dim == quantum_config().n_qubits == 6
    assert jax.jit(module.apply)(variables, x).shape == (4, 2)
    recon = jax.jit(lambda v, x: module.apply(v, x, method="reconstruct"))(variables, x)
    assert recon.shape == x.shape
    latent = jax.jit(lambda v, x: module.apply(v, x, method="encode"))(variables, x)
    assert latent.shape == (4, 6)
    assert set(variables["params"]) == TOPS
    counts = models.count_params(variables)
    quantum = sum(int(np.prod(a.shape)) for a in jax.tree.leaves(variables["params"]["core"]))
    total = sum(int(np.prod(a.shape)) for a in jax.tree.leaves(variables["params"]))
    assert counts == {"quantum": quantum, "classical": total - quantum} and quantum > 0
    assert all(k.startswith("quantum_") for k in variables["params"]["core"])


def _grads(module, variables, x):
    loss = lambda p: jnp.sum(module.apply({"params": p}, x) ** 2)  # noqa: E731
    return jax.jit(jax.grad(loss))(variables["params"])


def _largest(tree) -> float:
    return max(float(jnp.abs(g).max()) for g in jax.tree.leaves(tree))


def test_gradients_reach_the_vqc_and_the_encoder_fine_tunes_by_default(student):
    module, variables, x = student
    assert module.freeze_encoder is False  # the registered default fine-tunes the encoder
    grads = _grads(module, variables, x)
    assert _largest(grads["core"]) > 0 and _largest(grads["readout"]) > 0
    assert float(jnp.abs(grads["encoder"]["to_latent"]["kernel"]).max()) > 0
    assert _largest(grads["decoder"]) == 0  # the decoder does not touch the logits


def test_frozen_encoder_gets_no_gradient(student):
    _, variables, x = student
    module, _ = _built(freeze_encoder=True)
    grads = _grads(module, variables, x)
    assert _largest(grads["encoder"]) == 0
    assert _largest(grads["core"]) > 0 and _largest(grads["readout"]) > 0


@pytest.mark.parametrize("freeze", [True, False])
def test_trainable_mask_through_the_optimiser(student, freeze):
    _, variables, _ = student
    _, cfg = _built(freeze_encoder=freeze)
    params = variables["params"]
    mask = models.trainable_mask("ae_vqc", cfg, params)
    trains = {top: set(jax.tree.leaves(sub)) for top, sub in mask.items()}
    assert trains == {"encoder": {not freeze}, "decoder": {False}, "core": {True},
                      "readout_hidden_layer": {True}, "readout": {True}}
    # Non-zero gradients everywhere and weight decay on: only what the mask lets through moves.
    tx = steps.make_optimizer(train_config(), 10,
                              trainable_fn=lambda p: models.trainable_mask("ae_vqc", cfg, p))
    grads = jax.tree.map(jnp.ones_like, params)
    updates, _ = jax.jit(lambda g, p: tx.update(g, tx.init(p), p))(grads, params)
    new = jax.tree.map(jnp.add, params, updates)
    moved = {top: {bool(jnp.any(a != b)) for a, b in zip(jax.tree.leaves(new[top]),
                                                           jax.tree.leaves(params[top]))}
             for top in params}
    assert moved == trains


def test_vmap_over_seeds_with_rr_features(student):
    module, _, x = student
    rr = jax.random.uniform(jax.random.key(2), (4, 3), minval=0.5, maxval=1.5)
    keys = jax.random.split(jax.random.key(0), 3)
    stacked = jax.jit(jax.vmap(lambda k: module.init(k, x, rr)))(keys)
    # The RR features join the latent before the circuit: 6 latent + 3 RR -> one value per qubit.
    assert stacked["params"]["rr_mixer"]["kernel"].shape == (3, 6 + 3, 6)
    assert stacked["params"]["readout_hidden_layer"]["kernel"].shape == (3, 6, 16)
    assert stacked["params"]["core"]["quantum_weights"].shape[0] == 3
    apply = jax.jit(jax.vmap(lambda v, rr: module.apply(v, x, rr), in_axes=(0, None)))
    logits = apply(stacked, rr)
    assert logits.shape == (3, 4, 2) and not np.allclose(logits[0], logits[1])
    assert not np.allclose(apply(stacked, 2 * rr), logits)  # the RR features reach the logits
    single = jax.jit(module.apply)(jax.tree.map(lambda a: a[1], stacked), x, rr)
    np.testing.assert_allclose(logits[1], single, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", ["ae_vqc", "ae_mlp"])
def test_every_input_reaches_the_logits_only_through_the_core(name):
    """The logits are the readout of the core's outputs and nothing else: were RR (or any feature)
    joined after the core, ``head`` of the core's outputs would no longer give the logits."""
    module, variables = models.create(name, input_shape=(256, 1), n_outputs=2, rr_dim=7, seed=3)
    x = jax.random.normal(jax.random.key(0), (4, 256, 1))
    rr = jax.random.normal(jax.random.key(1), (4, 7))
    outputs = jax.jit(lambda v, x, rr: module.apply(v, x, rr, method=lambda m, x, rr: m.core(m.angles(x, rr))))(
        variables, x, rr)
    assert outputs.shape == (4, 6)
    logits = jax.jit(module.apply)(variables, x, rr)
    head = jax.jit(lambda v, h: module.apply(v, h, method="head"))(variables, outputs)
    np.testing.assert_allclose(head, logits, rtol=1e-5, atol=1e-5)
    # Through the core, both the window and the RR features do reach the logits.
    gx, grr = jax.jit(jax.grad(lambda x, rr: jnp.sum(module.apply(variables, x, rr)), argnums=(0, 1)))(x, rr)
    assert float(jnp.abs(gx).max()) > 0 and float(jnp.abs(grr).max()) > 0


def test_the_control_matches_the_circuit():
    vqc_module, vqc_vars = models.create("ae_vqc", input_shape=(256, 1), n_outputs=2)
    mlp_module, mlp_vars = models.create("ae_mlp", input_shape=(256, 1), n_outputs=2)
    assert models.model_spec("ae_mlp").family == "classical"
    quantum = models.count_params({"params": vqc_vars["params"]["core"]})["quantum"]
    control = sum(int(np.prod(a.shape)) for a in jax.tree.leaves(mlp_vars["params"]["core"]))
    assert quantum == 36 and abs(control - quantum) <= 13  # nearest the hidden widths allow (32)
    assert models.count_params(mlp_vars)["quantum"] == 0
    same = {k for k in vqc_vars["params"] if k != "core"}
    for top in same:  # everything but the core is the same architecture
        assert jax.tree.map(jnp.shape, vqc_vars["params"][top]) == jax.tree.map(jnp.shape, mlp_vars["params"][top])
    x = jax.random.normal(jax.random.key(0), (3, 256, 1))
    out = jax.jit(lambda v, x: mlp_module.apply(v, x, method=lambda m, x: m.core(m.angles(x))))(mlp_vars, x)
    assert out.shape == (3, 6) and float(jnp.abs(out).max()) <= 1.0  # the shape and range of <Z>
    assert jax.eval_shape(vqc_module.apply, vqc_vars, x).shape == jax.eval_shape(mlp_module.apply, mlp_vars, x).shape


def test_global_pooling_makes_the_latent_ignore_where_the_beat_sits(student):
    module, variables, _ = student
    t = jnp.arange(256)
    beat = jnp.exp(-0.5 * ((t - 100) / 4.0) ** 2)[None, :, None]
    shifted = jnp.roll(beat, 64, axis=1)  # the same beat 64 samples later (a multiple of the strides)
    encode = jax.jit(lambda x: module.apply(variables, x, method="encode"))
    np.testing.assert_allclose(encode(beat), encode(shifted), rtol=1e-4, atol=1e-4)
    flat, _ = _built(pooling="flatten")
    flat_vars = jax.jit(flat.init)(jax.random.key(0), beat)
    assert not np.allclose(flat.apply(flat_vars, beat, method="encode"),
                           flat.apply(flat_vars, shifted, method="encode"), atol=1e-3)


def test_build_refuses_what_it_cannot_size():
    cfg = models.model_config("ae_vqc")
    with pytest.raises(ConfigError, match="window_length is 0"):
        models.build_model("ae_vqc", cfg, 2)
    cfg.window_length, cfg.latent_dim = 256, 4
    with pytest.raises(ConfigError, match=r"latent_dim=4 but the circuit has quantum\.n_qubits=6"):
        models.build_model("ae_vqc", cfg, 2, quantum_config())
    cfg.latent_dim, cfg.angle_scaling = 0, "sigmoid"
    with pytest.raises(ConfigError, match=r"ae_vqc\.angle_scaling must be one of"):
        models.build_model("ae_vqc", cfg, 2)
    cfg.angle_scaling, cfg.pooling = "pi_tanh", "attention"
    with pytest.raises(ConfigError, match=r"ae_mlp\.pooling must be one of"):
        models.build_model("ae_mlp", cfg, 2)


def test_angle_scaling_is_bounded():
    z = jnp.array([-100.0, -0.5, 0.0, 100.0])
    np.testing.assert_allclose(ae_vqc.latent_to_angles(z, "pi_tanh"),
                               [-np.pi, np.pi * np.tanh(-0.5), 0, np.pi], atol=1e-5)
    np.testing.assert_array_equal(ae_vqc.latent_to_angles(z, "none"), z)
    with pytest.raises(ValueError, match="angle_scaling"):
        ae_vqc.latent_to_angles(z, "sigmoid")
