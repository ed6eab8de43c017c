"""Supervised classification objectives for softmax and sigmoid heads, and class weighting.

The training step takes any loss of the form ``loss_fn(logits, batch, hparams, head,
sample_weights) -> scalar``; :func:`cross_entropy_loss` is the default, and the distillation layer
supplies its KD loss in the same form. Everything is a pure ``jnp`` function (jit/grad/vmap-safe).

Head kinds:

* ``"softmax"``: single-label multi-class (including binary tasks with two logits);
* ``"sigmoid"``: multi-label (or a binary head with one logit): every output is an independent
  Bernoulli, and the binary cross-entropy is averaged over outputs.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

HEADS = ("softmax", "sigmoid")


def head_kind(n_outputs: int, multilabel: bool) -> str:
    """The output nonlinearity implied by a task: sigmoid for multi-label or a 1-logit head."""
    return "sigmoid" if multilabel or n_outputs == 1 else "softmax"


def weighted_mean(per_sample: jax.Array, weights: jax.Array | None) -> jax.Array:
    if weights is None:
        return jnp.mean(per_sample)
    return jnp.sum(per_sample * weights) / jnp.maximum(jnp.sum(weights), 1e-12)


def cross_entropy_per_sample(logits: jax.Array, labels: jax.Array, head: str) -> jax.Array:
    """Hard-label loss of each sample, shape ``(batch,)``.

    ``labels`` are int class indices for ``"softmax"``; for ``"sigmoid"`` they are multi-hot
    ``(batch, n_outputs)`` floats, or int {0, 1} of shape ``(batch,)`` for a single-logit head.
    """
    logits = logits.astype(jnp.float32)
    if head == "softmax":
        log_p = jax.nn.log_softmax(logits, axis=-1)
        return -jnp.take_along_axis(log_p, labels[:, None].astype(jnp.int32), axis=-1)[:, 0]
    if head == "sigmoid":
        targets = labels.astype(jnp.float32).reshape(logits.shape)
        bce = -(targets * jax.nn.log_sigmoid(logits) + (1.0 - targets) * jax.nn.log_sigmoid(-logits))
        return jnp.mean(bce, axis=-1)
    raise ValueError(f"head must be one of {HEADS}, got {head!r}")


def cross_entropy_loss(logits: jax.Array, batch: dict, hparams: dict, head: str,
                       sample_weights: jax.Array | None = None) -> jax.Array:
    """(Weighted) mean cross-entropy of a batch; ``hparams`` is unused (the default loss)."""
    del hparams
    return weighted_mean(cross_entropy_per_sample(logits, batch["y"], head), sample_weights)


def sample_weights_from_labels(labels: jax.Array, class_weights: jax.Array, head: str) -> jax.Array:
    """Per-sample weights from per-class weights.

    Single-label: the weight of the sample's class. Multi-label: the mean weight of its positive
    labels (1 where it has none), so that rare diagnoses count more without a per-label loss.
    """
    if head == "softmax" or labels.ndim == 1:
        return class_weights[labels.astype(jnp.int32)]
    labels = labels.astype(jnp.float32)
    n_pos = jnp.sum(labels, axis=-1)
    return jnp.where(n_pos > 0, labels @ class_weights / jnp.maximum(n_pos, 1.0), 1.0)
