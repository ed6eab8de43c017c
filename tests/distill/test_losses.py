"""KD loss against hand-computed values and its limits; its training-step form ``kd_batch_loss``."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ecgq.distill import losses
from ecgq.train import objectives


def _np_softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


S = np.array([[2.0, -1.0, 0.5], [0.0, 0.3, -0.7]], np.float32)
T_ = np.array([[1.0, 0.0, 3.0], [-2.0, 1.0, 0.0]], np.float32)
Y = np.array([0, 1])


def test_softmax_kd_matches_hand_computation():
    temp, alpha = 2.0, 0.3
    p, q = _np_softmax(T_ / temp), _np_softmax(S / temp)
    kl = np.mean(np.sum(p * (np.log(p) - np.log(q)), axis=1))
    ce = np.mean(-np.log(_np_softmax(S)[np.arange(2), Y]))
    expected = alpha * temp**2 * kl + (1 - alpha) * ce
    got = losses.kd_loss(jnp.asarray(S), jnp.asarray(Y), jnp.asarray(T_), temp, alpha, "softmax")
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_sigmoid_kd_matches_hand_computation():
    temp, alpha = 3.0, 0.6
    labels = np.array([[1, 0, 1], [0, 0, 1]], np.float32)
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    p, q = sig(T_ / temp), sig(S / temp)
    kl = np.mean(p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q)))
    ps = sig(S)
    bce = np.mean(-(labels * np.log(ps) + (1 - labels) * np.log(1 - ps)))
    got = losses.kd_loss(jnp.asarray(S), jnp.asarray(labels), jnp.asarray(T_), temp, alpha, "sigmoid")
    np.testing.assert_allclose(got, alpha * temp**2 * kl + (1 - alpha) * bce, rtol=1e-5)


@pytest.mark.parametrize("head", ["softmax", "sigmoid"])
def test_alpha_zero_is_cross_entropy_and_no_teacher_is_too(head):
    labels = jnp.asarray(Y) if head == "softmax" else jnp.asarray([[1.0, 0, 0], [0, 1.0, 1.0]])
    ce = losses.kd_loss(jnp.asarray(S), labels, None, 1.0, 0.0, head)
    with_teacher = losses.kd_loss(jnp.asarray(S), labels, jnp.asarray(T_), 7.0, 0.0, head)
    assert float(ce) == pytest.approx(float(with_teacher), abs=0)
    assert float(ce) == pytest.approx(float(jnp.mean(objectives.cross_entropy_per_sample(jnp.asarray(S), labels, head))))


def test_temperature_scaling_and_identity():
    s, t = jnp.asarray(S), jnp.asarray(T_)
    # KD term is T^2 times the KL at temperature T.
    for temp in (1.0, 2.0, 8.0):
        kl = jnp.mean(losses.kl_per_sample(s, t, temp, "softmax"))
        got = losses.kd_loss(s, jnp.asarray(Y), t, temp, 1.0, "softmax")
        np.testing.assert_allclose(got, temp**2 * kl, rtol=1e-6)
    # Matching the teacher exactly costs nothing.
    assert float(losses.kd_loss(t, jnp.asarray(Y), t, 4.0, 1.0, "softmax")) == pytest.approx(0.0, abs=1e-6)
    # The T^2 factor keeps soft-target gradients on one scale: at high T the gradient tends to
    # (s - t) / N_classes (mean-centred logits), independent of T.
    sc, tc = s - s.mean(-1, keepdims=True), t - t.mean(-1, keepdims=True)
    g = [jax.grad(lambda z: losses.kd_loss(z, jnp.asarray(Y), tc, temp, 1.0, "softmax"))(sc) for temp in (50.0, 100.0)]
    np.testing.assert_allclose(g[0], g[1], rtol=2e-2, atol=1e-4)
    np.testing.assert_allclose(g[1], (sc - tc) / 3 / 2, rtol=5e-2, atol=1e-3)


def test_class_weights_multiply_both_terms():
    # Per-sample weights w: loss = alpha T^2 sum(w kl)/sum(w) + (1 - alpha) sum(w ce)/sum(w).
    temp, alpha, w = 2.0, 0.4, np.array([3.0, 1.0], np.float32)
    s, t, y = jnp.asarray(S), jnp.asarray(T_), jnp.asarray(Y)
    kl = np.asarray(losses.kl_per_sample(s, t, temp, "softmax"))
    ce = -np.log(_np_softmax(S)[np.arange(2), Y])
    expected = alpha * temp**2 * (w @ kl) / w.sum() + (1 - alpha) * (w @ ce) / w.sum()
    got = losses.kd_loss(s, y, t, temp, alpha, "softmax", jnp.asarray(w))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert abs(float(got) - float(losses.kd_loss(s, y, t, temp, alpha, "softmax"))) > 1e-3


@pytest.mark.parametrize("head", ["softmax", "sigmoid"])
def test_kd_batch_loss_reads_batch_and_hparams(head):
    s, t = jnp.asarray(S), jnp.asarray(T_)
    labels = jnp.asarray(Y) if head == "softmax" else jnp.asarray([[1.0, 0, 0], [0, 1.0, 1.0]])
    h = {"temperature": jnp.float32(3.0), "alpha": jnp.float32(0.6)}
    sw = jnp.asarray([0.5, 2.0])
    got = losses.kd_batch_loss(s, {"x": None, "y": labels, "teacher": t}, h, head, sw)
    assert float(got) == float(losses.kd_loss(s, labels, t, h["temperature"], h["alpha"], head, sw))
    # Without teacher logits in the batch it is the (weighted) cross-entropy of the training layer.
    plain = losses.kd_batch_loss(s, {"y": labels}, h, head, sw)
    assert float(plain) == float(objectives.cross_entropy_loss(s, {"y": labels}, h, head, sw))
    assert float(plain) != float(got)


def test_traced_hparams_vmap_over_grid():
    temps, alphas = jnp.asarray([1.0, 2.0, 4.0]), jnp.asarray([0.0, 0.5, 1.0])
    f = jax.vmap(lambda t, a: losses.kd_loss(jnp.asarray(S), jnp.asarray(Y), jnp.asarray(T_), t, a, "softmax"))
    grid = f(temps, alphas)
    for i in range(3):
        np.testing.assert_allclose(
            grid[i], losses.kd_loss(jnp.asarray(S), jnp.asarray(Y), jnp.asarray(T_), float(temps[i]), float(alphas[i]), "softmax"),
            rtol=1e-6)
