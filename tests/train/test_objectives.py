"""The default training objective (cross-entropy) and class weighting, against hand computations."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from ecgq.train import objectives, steps

Z = np.array([[2.0, -1.0, 0.5], [0.0, 0.3, -0.7], [1.0, 1.0, -2.0]], np.float32)


def test_head_kind():
    assert objectives.head_kind(2, False) == "softmax"
    assert objectives.head_kind(5, False) == "softmax"
    assert objectives.head_kind(1, False) == "sigmoid"
    assert objectives.head_kind(5, True) == "sigmoid"


def test_softmax_cross_entropy_matches_hand_computation():
    y = np.array([0, 2, 1])
    e = np.exp(Z - Z.max(-1, keepdims=True))
    expected = -np.log((e / e.sum(-1, keepdims=True))[np.arange(3), y])
    per = objectives.cross_entropy_per_sample(jnp.asarray(Z), jnp.asarray(y), "softmax")
    np.testing.assert_allclose(per, expected, rtol=1e-6)
    w = np.array([1.0, 4.0, 0.0], np.float32)
    got = objectives.cross_entropy_loss(jnp.asarray(Z), {"y": jnp.asarray(y)}, {}, "softmax", jnp.asarray(w))
    np.testing.assert_allclose(got, (w @ expected) / w.sum(), rtol=1e-6)
    unweighted = objectives.cross_entropy_loss(jnp.asarray(Z), {"y": jnp.asarray(y)}, {}, "softmax")
    np.testing.assert_allclose(unweighted, expected.mean(), rtol=1e-6)


def test_sigmoid_cross_entropy_multilabel_and_single_logit():
    labels = np.array([[1, 0, 1], [0, 0, 1], [1, 1, 0]], np.float32)
    p = 1 / (1 + np.exp(-Z.astype(np.float64)))
    expected = np.mean(-(labels * np.log(p) + (1 - labels) * np.log(1 - p)), axis=-1)
    got = objectives.cross_entropy_per_sample(jnp.asarray(Z), jnp.asarray(labels), "sigmoid")
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # A one-logit binary head takes int {0, 1} labels of shape (batch,).
    one = objectives.cross_entropy_per_sample(jnp.asarray(Z[:, :1]), jnp.asarray([1, 0, 1]), "sigmoid")
    np.testing.assert_allclose(one, -np.log([p[0, 0], 1 - p[1, 0], p[2, 0]]), rtol=1e-5)
    with pytest.raises(ValueError, match="head must be one of"):
        objectives.cross_entropy_per_sample(jnp.asarray(Z), jnp.asarray([0, 1, 2]), "tanh")


def test_weighted_mean_and_sample_weights():
    np.testing.assert_allclose(objectives.weighted_mean(jnp.asarray([1.0, 3.0]), None), 2.0)
    np.testing.assert_allclose(objectives.weighted_mean(jnp.asarray([1.0, 3.0]), jnp.asarray([3.0, 1.0])), 1.5)
    w = jnp.asarray([1.0, 3.0])
    np.testing.assert_allclose(objectives.sample_weights_from_labels(jnp.asarray([0, 1, 1]), w, "softmax"),
                               [1.0, 3.0, 3.0])
    # Multi-label: mean weight of the positive labels, 1 for a sample without any.
    multi = objectives.sample_weights_from_labels(jnp.asarray([[1.0, 1.0], [0.0, 0.0], [0.0, 1.0]]), w, "sigmoid")
    np.testing.assert_allclose(multi, [2.0, 1.0, 3.0])


def test_balanced_class_weights_from_training_labels():
    y = np.array([0, 0, 0, 1])
    np.testing.assert_allclose(steps.class_weights_from_labels(y, 2, "balanced", False), [4 / 6, 4 / 2])
    np.testing.assert_array_equal(steps.class_weights_from_labels(y, 2, "none", False), [1.0, 1.0])
    multi = np.array([[1, 0, 1], [1, 0, 0]])
    np.testing.assert_allclose(steps.class_weights_from_labels(multi, 3, "balanced", True),
                               [2 / 6, 2 / 3, 2 / 3])  # an absent label counts as one
    with pytest.raises(ValueError, match="class_weighting"):
        steps.class_weights_from_labels(y, 2, "inverse", False)
