"""Knowledge-distillation losses (Hinton et al., 2015) for softmax and sigmoid heads.

    loss = alpha * T^2 * KL(teacher_T || student_T) + (1 - alpha) * CE(labels, student)

``teacher_T``/``student_T`` are the temperature-softened output distributions. The ``T^2`` factor
keeps the gradient of the soft term on the same scale as the hard term whatever ``T`` is (the
soft-target gradients scale as ``1/T^2``), so ``alpha`` means the same thing at every temperature.

Two head kinds (:mod:`ecgq.train.objectives`) share one definition:

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

from ecgq.train.objectives import HEADS, cross_entropy_per_sample, weighted_mean


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
    ce = weighted_mean(cross_entropy_per_sample(student_logits, labels, head), sample_weights)
    if teacher_logits is None:
        return ce
    kl = weighted_mean(kl_per_sample(student_logits, teacher_logits, temperature, head), sample_weights)
    return alpha * temperature**2 * kl + (1.0 - alpha) * ce


def kd_batch_loss(logits: jax.Array, batch: dict, hparams: dict, head: str,
                  sample_weights: jax.Array | None = None) -> jax.Array:
    """:func:`kd_loss` in the training step's ``loss_fn`` form: teacher logits from
    ``batch["teacher"]`` (absent: plain cross-entropy), T and alpha from ``hparams``."""
    return kd_loss(logits, batch["y"], batch.get("teacher"), hparams["temperature"], hparams["alpha"],
                   head, sample_weights)
