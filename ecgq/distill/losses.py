"""Knowledge-distillation losses (Hinton et al., 2015) for softmax and sigmoid heads.

    loss = alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(labels, student)

``teacher_T``/``student_T`` are the temperature-softened output distributions. The ``T^2`` factor
keeps the gradient of the soft term on the same scale as the hard term whatever ``T`` is (the
soft-target gradients scale as ``1/T^2``), so ``alpha`` means the same thing at every temperature.

Two head kinds share one definition:

* ``"softmax"``: single-label multi-class (including binary tasks with two logits): the KL is
  between categorical distributions ``softmax(z / T)``.
* ``"sigmoid"``: multi-label (or a binary head with one logit): every output is an independent
  Bernoulli ``sigmoid(z / T)``, the KL is the Bernoulli KL, averaged over outputs, as is the
  binary cross-entropy, so that both terms are per-output means and ``alpha`` mixes like with like.

Per-sample weights (class weighting) multiply both terms: a down-weighted majority class should
not come back through the soft targets. Everything here is a pure ``jnp`` function, safe to ``jit``,
``grad`` and ``vmap``; ``temperature`` and ``alpha`` may be traced scalars, which is what lets a
T x alpha sensitivity grid run as one vmapped program.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

HEADS = ("softmax", "sigmoid")


def head_kind(n_outputs: int, multilabel: bool) -> str:
    """The output nonlinearity implied by a task: sigmoid for multi-label or a 1-logit head."""
    return "sigmoid" if multilabel or n_outputs == 1 else "softmax"


def _weighted_mean(per_sample: jax.Array, weights: jax.Array | None) -> jax.Array:
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


def kl_per_sample(
    student_logits: jax.Array, teacher_logits: jax.Array, temperature: jax.Array | float, head: str
) -> jax.Array:
    """``KL(teacher_T || student_T)`` of each sample (without the ``T^2`` factor), ``(batch,)``."""
    s = student_logits.astype(jnp.float32) / temperature
    t = teacher_logits.astype(jnp.float32) / temperature
    if head == "softmax":
        log_q = jax.nn.log_softmax(s, axis=-1)
        log_p = jax.nn.log_softmax(t, axis=-1)
        return jnp.sum(jnp.exp(log_p) * (log_p - log_q), axis=-1)
    if head == "sigmoid":
        log_p1, log_p0 = jax.nn.log_sigmoid(t), jax.nn.log_sigmoid(-t)
        log_q1, log_q0 = jax.nn.log_sigmoid(s), jax.nn.log_sigmoid(-s)
        kl = jnp.exp(log_p1) * (log_p1 - log_q1) + jnp.exp(log_p0) * (log_p0 - log_q0)
        return jnp.mean(kl, axis=-1)
    raise ValueError(f"head must be one of {HEADS}, got {head!r}")


def kd_loss(
    student_logits: jax.Array,
    labels: jax.Array,
    teacher_logits: jax.Array | None,
    temperature: jax.Array | float,
    alpha: jax.Array | float,
    head: str,
    sample_weights: jax.Array | None = None,
) -> jax.Array:
    """Scalar Hinton KD loss; plain (weighted) cross-entropy when ``teacher_logits`` is None.

    ``alpha = 0`` is exactly the cross-entropy; ``alpha = 1`` is pure soft-target matching.
    """
    ce = _weighted_mean(cross_entropy_per_sample(student_logits, labels, head), sample_weights)
    if teacher_logits is None:
        return ce
    kl = _weighted_mean(kl_per_sample(student_logits, teacher_logits, temperature, head), sample_weights)
    return alpha * temperature**2 * kl + (1.0 - alpha) * ce


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
