"""``make_train_step(loss_fn=...)``: the loss is a parameter; KD with alpha = 0 is exactly cross-entropy."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from ecgq.distill.losses import kd_batch_loss
from ecgq.train import objectives, steps
from ecgq.train.state import TrainState


def _grads_as_opt_state() -> optax.GradientTransformation:
    """An 'optimiser' that leaves the params alone and stores the last gradients as its state."""
    return optax.GradientTransformation(
        init=lambda params: jax.tree_util.tree_map(jnp.zeros_like, params),
        update=lambda grads, state, params=None: (jax.tree_util.tree_map(jnp.zeros_like, grads), grads),
    )


def _state_and_batch(tiny_model, tiny_data):
    train, _ = tiny_data
    model = tiny_model()
    x = jnp.asarray(train["x"][:24])
    variables = model.init(jax.random.PRNGKey(0), x[:1], None, train=False)
    state = TrainState.from_variables(apply_fn=model.apply, variables=variables, tx=_grads_as_opt_state(),
                                      dropout_key=jax.random.PRNGKey(1))
    teacher = jax.random.normal(jax.random.PRNGKey(2), (24, 2)) * 3.0
    batch = {"x": x, "y": jnp.asarray(train["y"][:24]), "teacher": teacher}
    weights = steps.class_weights_from_labels(train["y"], 2, "balanced", False)
    return state, batch, weights


def _run(step, state, batch, hparams):
    new, metrics = jax.jit(step)(state, batch, hparams)
    return float(metrics["loss"]), new.opt_state, new.batch_stats


def _leaves_equal(a, b) -> bool:
    return all(np.array_equal(u, v) for u, v in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


def test_kd_with_alpha_zero_is_exactly_cross_entropy(tiny_model, tiny_data):
    state, batch, weights = _state_and_batch(tiny_model, tiny_data)
    ce_step = steps.make_train_step("softmax", weights)  # default loss: cross-entropy
    kd_step = steps.make_train_step("softmax", weights, loss_fn=kd_batch_loss)
    no_kd = {"temperature": jnp.float32(4.0), "alpha": jnp.float32(0.0)}
    ce_loss, ce_grads, ce_stats = _run(ce_step, state, batch, no_kd)
    kd_loss, kd_grads, kd_stats = _run(kd_step, state, batch, no_kd)
    assert np.isfinite(ce_loss) and ce_loss > 0
    assert kd_loss == ce_loss
    assert _leaves_equal(kd_grads, ce_grads)
    assert _leaves_equal(kd_stats, ce_stats)
    assert any(float(jnp.abs(g).sum()) > 0 for g in jax.tree_util.tree_leaves(ce_grads))
    # The default loss ignores teacher logits: a KD member under it trains on the labels alone.
    assert _run(ce_step, state, {k: v for k, v in batch.items() if k != "teacher"}, no_kd)[0] == ce_loss
    # Without teacher logits the KD loss is the cross-entropy whatever alpha is.
    plain = {k: v for k, v in batch.items() if k != "teacher"}
    kd_loss, kd_grads, _ = _run(kd_step, state, plain, {"temperature": jnp.float32(4.0), "alpha": jnp.float32(0.7)})
    assert kd_loss == ce_loss and _leaves_equal(kd_grads, ce_grads)

    # With alpha > 0 and a teacher, the soft term changes both the loss and the gradients.
    kd_loss, kd_grads, _ = _run(kd_step, state, batch, {"temperature": jnp.float32(4.0), "alpha": jnp.float32(0.7)})
    assert np.isfinite(kd_loss) and abs(kd_loss - ce_loss) > 1e-3
    assert not _leaves_equal(kd_grads, ce_grads)
    g_kd = np.concatenate([np.ravel(g) for g in jax.tree_util.tree_leaves(kd_grads)])
    g_ce = np.concatenate([np.ravel(g) for g in jax.tree_util.tree_leaves(ce_grads)])
    assert not np.allclose(g_kd, g_ce, rtol=1e-2, atol=1e-4)


def test_loss_fn_receives_logits_batch_hparams_head_and_sample_weights(tiny_model, tiny_data):
    state, batch, weights = _state_and_batch(tiny_model, tiny_data)
    seen = {}

    def scaled_ce(logits, batch_, hparams, head, sample_weights):
        seen.update(logits=logits.shape, dtype=logits.dtype, keys=set(batch_), head=head,
                    hparams=set(hparams), weights=sample_weights)
        return hparams["scale"] * objectives.cross_entropy_loss(logits, batch_, hparams, head, sample_weights)

    step = steps.make_train_step("softmax", weights, loss_fn=scaled_ce)
    new, metrics = step(state, batch, {"scale": jnp.float32(2.0)})  # unjitted: the weights stay concrete
    assert seen["logits"] == (24, 2) and seen["dtype"] == jnp.float32
    assert seen["keys"] == {"x", "y", "teacher"} and seen["head"] == "softmax" and seen["hparams"] == {"scale"}
    np.testing.assert_array_equal(seen["weights"], jnp.asarray(weights)[batch["y"]])
    ce_loss, ce_grads, _ = _run(steps.make_train_step("softmax", weights), state, batch, {})
    np.testing.assert_allclose(float(metrics["loss"]), 2 * ce_loss, rtol=1e-6)
    for a, b in zip(jax.tree_util.tree_leaves(new.opt_state), jax.tree_util.tree_leaves(ce_grads)):
        np.testing.assert_allclose(a, 2 * b, rtol=1e-5, atol=1e-7)
    # Without class weights the loss gets None (an unweighted mean).
    steps.make_train_step("softmax", loss_fn=scaled_ce)(state, batch, {"scale": jnp.float32(1.0)})
    assert seen["weights"] is None


def test_step_advances_and_eval_step_is_deterministic(tiny_model, tiny_data):
    state, batch, weights = _state_and_batch(tiny_model, tiny_data)
    state = state.replace(tx=optax.adam(1e-2), opt_state=optax.adam(1e-2).init(state.params))
    step = jax.jit(steps.make_train_step("softmax", weights))
    new, _ = step(state, batch, {})
    assert int(new.step) == 1 and not _leaves_equal(new.params, state.params)
    assert not _leaves_equal(new.batch_stats, state.batch_stats)  # BatchNorm statistics were updated
    # Dropout masks come from (dropout_key, step): the same state and batch repeat exactly.
    again, _ = step(state, batch, {})
    assert _leaves_equal(again.params, new.params)
    eval_step = jax.jit(steps.make_eval_step())
    logits = eval_step(new, batch)
    assert logits.shape == (24, 2) and logits.dtype == jnp.float32
    np.testing.assert_array_equal(logits, eval_step(new, batch))
