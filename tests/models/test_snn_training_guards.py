"""Tests that would have caught the public spiking + quantum implementation's failures:

- its spikes had no surrogate gradient and its entanglement was an argmax, so decays, entanglers
  and everything upstream of a spike never trained: here every decay, every entangling angle and
  the fusion gate get a non-zero gradient *and move* after one AdamW step;
- its "1-bit" weights: here a deployed binary kernel holds two values per output channel;
- its 100% test accuracy came from test folds holding the training records: here the engine that
  trains the spiking students stays at chance when the labels carry no information (and learns the
  same data when they do, so the test can fail).
Patient-disjoint PTB-XL splits are tested on the study's own view in tests/studies/test_ptbxl_snn.py.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ecgq import models
from ecgq.distill.losses import kd_batch_loss
from ecgq.models import snn_costs, spiking
from ecgq.train import loop, multiseed
from ecgq.train.config import train_config

SMALL = {"features": (4, 6, 8), "kernel_sizes": (5, 3, 3), "n_qubits": 4, "n_layers": 2}


def _leaves_named(tree, name):
    """``{path: leaf}`` of every leaf called ``name``."""
    return {jax.tree_util.keystr(p): leaf for p, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]
            if str(getattr(p[-1], "key", "")) == name}


@pytest.fixture(scope="module")
def hybrid():
    module, variables = models.create("snn_vqc", input_shape=(32, 3), n_outputs=3, **SMALL)
    x = jax.random.normal(jax.random.key(1), (8, 32, 3))
    return module, variables, x, jnp.arange(8) % 3


def _loss(module, params, batch_stats, x, y):
    logits, _ = module.apply({"params": params, "batch_stats": batch_stats}, x, train=True, mutable=["batch_stats"])
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def test_one_adamw_step_moves_every_decay_entangler_and_the_gate(hybrid):
    module, variables, x, y = hybrid
    params = variables["params"]
    grads = jax.jit(jax.grad(lambda p: _loss(module, p, variables["batch_stats"], x, y)))(params)
    tx = optax.adamw(1e-3)
    updated = optax.apply_updates(params, tx.update(grads, tx.init(params), params)[0])
    n = SMALL["n_qubits"]
    watched = {
        **{f"decay {k}": (g, _leaves_named(params, "beta_logit")[k], _leaves_named(updated, "beta_logit")[k])
           for k, g in _leaves_named(grads, "beta_logit").items()},
        "entanglers": (grads["core"]["quantum_weights"][:, 2 * n:], params["core"]["quantum_weights"][:, 2 * n:],
                       updated["core"]["quantum_weights"][:, 2 * n:]),
        "fusion gate": (grads["fusion_gate"], params["fusion_gate"], updated["fusion_gate"]),
        "first layer": (grads["stages_0"]["conv"]["kernel"], params["stages_0"]["conv"]["kernel"],
                        updated["stages_0"]["conv"]["kernel"]),
    }
    assert len([k for k in watched if k.startswith("decay")]) == 3  # one per stage
    assert watched["entanglers"][0].shape == (2, n * (n - 1) // 2)  # every pair's CRX angle, every layer
    for name, (grad, before, after) in watched.items():
        grad, before, after = map(np.asarray, (grad, before, after))
        assert np.all(np.abs(grad) > 0), f"{name}: zero gradient entries {np.argwhere(grad == 0)[:5]}"
        assert np.all(after != before), f"{name}: not moved by one AdamW step"


def test_deployed_binary_kernels_hold_two_values_per_output_channel(hybrid):
    module, variables, x, y = hybrid
    params = variables["params"]
    tx = optax.adam(5e-2)  # a few steps, so that the latent weights are no longer their init
    state = tx.init(params)
    grad = jax.jit(jax.grad(lambda p: _loss(module, p, variables["batch_stats"], x, y)))
    for _ in range(3):
        updates, state = tx.update(grad(params), state, params)
        params = optax.apply_updates(params, updates)
    kernels = _leaves_named(params, "binary_kernel")
    assert len(kernels) == 2  # stages 1 and 2 (stage 0 sees the analog ECG)
    for path, latent in kernels.items():
        deployed = np.asarray(spiking.binarize(latent))
        assert len(np.unique(np.asarray(latent))) > 2, path  # the latent weights are real-valued ...
        for c in range(deployed.shape[-1]):
            values = np.unique(deployed[..., c])
            alpha = np.mean(np.abs(np.asarray(latent)[..., c]))
            assert len(values) <= 2, (path, c, values)  # ... what inference uses is sign x one scale
            np.testing.assert_allclose(np.abs(values), alpha, rtol=1e-6)
    precision = snn_costs.precision_counts({"params": params})
    assert precision["binary_params"] == sum(int(np.size(k)) for k in kernels.values())


def _informative_windows(n: int, seed: int):
    """Three classes told apart by which of three leads carries a +0.7 offset (separable)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n).astype(np.int32)
    x = rng.normal(size=(n, 32, 3)).astype(np.float32)
    x[np.arange(n), :, y] += 0.7
    return {"x": x, "y": y}


def _test_accuracy(train, test) -> float:
    model_cfg = models.model_config("snn")
    model_cfg.update({"features": (4, 6, 8), "kernel_sizes": (5, 3, 3), "n_leads": 3})
    module = models.build_model("snn", model_cfg, 3)
    cfg = train_config()
    cfg.update({"epochs": 6, "batch_size": 32, "eval_batch_size": 256, "learning_rate": 1e-2,
                "early_stopping_patience": 0, "steps_per_call": 8, "progress": False, "class_weighting": "none",
                "selection_metric": "loss"})
    train = dict(train, teacher=np.zeros((len(train["y"]), 3), np.float32))
    _, logits, _ = loop.chunked_fit(model=module, members=[multiseed.Member(0)], cfg=cfg, train=train,
                                    val=train, head="softmax", multilabel=False, data_seed=0, ckpt_root=None,
                                    desc="guard", predict_splits={"test": test}, loss_fn=kd_batch_loss)
    return float(np.mean(np.argmax(logits["test"][0], -1) == test["y"]))


def test_shuffled_labels_stay_at_chance_and_true_labels_do_not():
    train, test = _informative_windows(768, 0), _informative_windows(768, 1)
    learned = _test_accuracy(train, test)
    shuffled = dict(train, y=np.random.default_rng(2).permutation(train["y"]))
    chance = _test_accuracy(shuffled, test)
    # 768 test windows, 3 classes: chance is 1/3 with a standard error of 0.017.
    assert learned > 0.8, learned
    assert abs(chance - 1 / 3) < 0.08, chance
