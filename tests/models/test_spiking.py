"""Spiking layers: LIF neurons and surrogate gradients against snnTorch's ``Leaky``, 1-bit weights
(values and straight-through mask), operation counts, and gradients reaching layers upstream of a
spiking neuron (the bug of the public implementation: a threshold with no surrogate)."""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ecgq.models import spiking

torch = pytest.importorskip("torch", reason="torch is part of the test extra")
snn = pytest.importorskip("snntorch", reason="snntorch is part of the test extra")
from snntorch import surrogate

# (our name, our scale, snnTorch's surrogate): defaults and a non-default scale of each shape.
SURROGATE_CASES = [("arctan", 0.0, lambda: surrogate.atan()), ("arctan", 3.0, lambda: surrogate.atan(alpha=3.0)),
                   ("fast_sigmoid", 0.0, lambda: surrogate.fast_sigmoid()),
                   ("fast_sigmoid", 10.0, lambda: surrogate.fast_sigmoid(slope=10.0))]


def _currents(batch=3, time=50, channels=6, seed=0):
    # A positive mean so that neurons fire and reset many times in 50 steps.
    return np.random.default_rng(seed).normal(0.35, 0.8, (batch, time, channels)).astype(np.float32)


def _snntorch_run(x, beta, threshold, spike_grad):
    """Spikes, membranes and d(sum spikes)/d(input) of snnTorch's Leaky stepped over time."""
    leaky = snn.Leaky(beta=beta, threshold=threshold, spike_grad=spike_grad)
    xt = torch.tensor(x, requires_grad=True)
    mem = leaky.reset_mem()
    spikes, mems = [], []
    for t in range(x.shape[1]):
        spk, mem = leaky(xt[:, t], mem)
        spikes.append(spk)
        mems.append(mem)
    spikes, mems = torch.stack(spikes, 1), torch.stack(mems, 1)
    spikes.sum().backward()
    return spikes.detach().numpy(), mems.detach().numpy(), xt.grad.numpy()


def _ours(fn, x):
    (spikes, mems), vjp = jax.vjp(fn, jnp.asarray(x))
    (grad,) = vjp((jnp.ones_like(spikes), jnp.zeros_like(mems)))
    return np.asarray(spikes), np.asarray(mems), np.asarray(grad)


@pytest.mark.parametrize("name,scale,torch_surrogate", SURROGATE_CASES)
def test_lif_matches_snntorch_leaky(name, scale, torch_surrogate):
    """Fixed beta and threshold: the same spike trains, membranes and surrogate gradients."""
    x, beta, threshold = _currents(), 0.8, 0.7
    ref_spikes, ref_mems, ref_grad = _snntorch_run(x, beta, threshold, torch_surrogate())
    assert 0.1 < ref_spikes.mean() < 0.6  # the comparison covers many spikes and resets
    module = spiking.LIF(name, scale, beta, False, threshold, False)
    spikes, mems, grad = _ours(lambda x: module.apply({}, x), x)
    np.testing.assert_array_equal(spikes, ref_spikes)
    np.testing.assert_allclose(mems, ref_mems, atol=1e-5)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-4, atol=1e-5)
    assert np.abs(grad).min() > 0  # every input step moves some later spike through the surrogate


def test_learned_per_channel_beta_and_threshold_match_snntorch():
    """Per-channel beta and threshold (snnTorch takes tensors), reached through our
    sigmoid / softplus parameterisation from the initial values."""
    x = _currents(channels=4, seed=1)
    betas, thresholds = np.array([0.3, 0.6, 0.85, 0.95]), np.array([0.5, 0.8, 1.0, 1.4])
    params = {"beta_logit": jnp.asarray(np.log(betas / (1 - betas)), jnp.float32),
              "threshold_raw": jnp.asarray(np.log(np.expm1(thresholds)), jnp.float32)}
    module = spiking.LIF("arctan")
    got = _ours(lambda x: module.apply({"params": params}, x), x)
    ref = _snntorch_run(x, torch.tensor(betas, dtype=torch.float32), torch.tensor(thresholds, dtype=torch.float32),
                        surrogate.atan())
    np.testing.assert_array_equal(got[0], ref[0])
    np.testing.assert_allclose(got[1], ref[1], atol=1e-5)
    np.testing.assert_allclose(got[2], ref[2], rtol=1e-4, atol=1e-5)
    # The module initialises at the values asked for, and they stay in range whatever the parameters.
    init = module.init(jax.random.key(0), jnp.asarray(x))
    beta, threshold = module.apply(init, 4, method="constants")
    np.testing.assert_allclose(beta, 0.9, rtol=1e-6)
    np.testing.assert_allclose(threshold, 1.0, rtol=1e-6)
    extreme = {"params": {"beta_logit": jnp.array([-50.0, 50.0, 0, 0]), "threshold_raw": jnp.array([-50.0, 50.0, 0, 0])}}
    beta, threshold = module.apply(extreme, 4, method="constants")
    assert float(beta.min()) >= 0 and float(beta.max()) <= 1 and float(threshold.min()) > 0
    with pytest.raises(ValueError, match=r"beta must be in \(0, 1\)"):
        spiking.LIF(beta=1.0).init(jax.random.key(0), jnp.asarray(x))


@pytest.mark.parametrize("name", list(spiking.SURROGATES))
def test_spike_is_a_step_with_the_surrogate_derivative(name):
    u = jnp.array([-1.0, -0.1, 0.0, 0.05, 2.0])
    spike = spiking.spike_function(name)
    np.testing.assert_array_equal(spike(u), [0, 0, 0, 1, 1])  # no spike at equality, as snnTorch
    k = spiking.SURROGATES[name]
    expected = (k / 2 / (1 + (math.pi / 2 * k * u) ** 2) if name == "arctan"
                else 1 / (k * jnp.abs(u) + 1) ** 2)
    np.testing.assert_allclose(jax.vmap(jax.grad(spike))(u), expected, rtol=1e-6)
    np.testing.assert_allclose(jax.jvp(spike, (u,), (jnp.ones_like(u),))[1], expected, rtol=1e-6)  # forward mode too
    assert spiking.spike_function(name) is spike  # one custom_jvp per (name, scale): jit reuses it
    with pytest.raises(ValueError, match="surrogate must be one of"):
        spiking.spike_function("sigmoid")


class _TwoSpikingLayers(nn.Module):
    """dense -> LIF -> 1-bit conv -> LIF -> spike count: the first layer is two neurons upstream."""

    spike: str = "surrogate"

    @nn.compact
    def __call__(self, x):
        fn = spiking.heaviside if self.spike == "heaviside" else spiking.spike_function("fast_sigmoid")
        h = nn.Dense(8, name="first")(x)
        h, _ = spiking.lif(h, 0.9, 0.5, fn)
        h = spiking.BinaryConv1D(8, 3, name="binary")(h)
        h, _ = spiking.lif(h, 0.9, 0.5, fn)
        return jnp.sum(h)


def test_gradients_reach_layers_upstream_of_spiking_neurons():
    x = jnp.asarray(_currents(batch=2, time=30, channels=3, seed=2))
    model = _TwoSpikingLayers()
    params = model.init(jax.random.key(0), x)
    assert float(model.apply(params, x)) > 0  # the second layer fires
    grads = jax.grad(lambda p: model.apply(p, x))(params)["params"]
    for layer in ("first", "binary"):
        for leaf in jax.tree.leaves(grads[layer]):
            assert np.all(np.isfinite(leaf)) and float(jnp.abs(leaf).max()) > 0, layer
    # The bug this replaces: a bare threshold has a zero derivative, so nothing upstream trains.
    bare = jax.grad(lambda p: _TwoSpikingLayers("heaviside").apply(p, x))(params)["params"]
    assert all(float(jnp.abs(leaf).max()) == 0 for leaf in jax.tree.leaves(bare))


def test_binarize_values_and_straight_through_mask():
    w = jnp.array([[0.5, -2.0, 0.0], [-0.25, 1.0, -3.0], [0.0, 0.5, 1.5]])
    scale = np.array([0.25, 3.5 / 3, 1.5])  # mean |w| per output channel (column)
    expected = scale * np.array([[1, -1, 1], [-1, 1, -1], [1, 1, 1]])  # sign(0) = +1
    np.testing.assert_allclose(spiking.binarize(w), expected, rtol=1e-6)
    np.testing.assert_allclose(spiking.binary_scales(w)[0], scale, rtol=1e-6)
    cotangent = jnp.arange(1.0, 10.0).reshape(3, 3)
    grad = jax.grad(lambda w: jnp.sum(cotangent * spiking.binarize(w)))(w)
    mask = np.abs(np.asarray(w)) <= 1  # straight through where |w| <= 1 (1 included), zero beyond
    np.testing.assert_array_equal(grad, np.where(mask, cotangent, 0.0))


def test_binary_dense_and_conv_compute_with_sign_times_scale():
    rng = np.random.default_rng(3)
    x = jnp.asarray(rng.normal(size=(2, 11, 4)), jnp.float32)
    dense = spiking.BinaryDense(5)
    variables = dense.init(jax.random.key(0), x)
    kernel = variables["params"]["binary_kernel"]
    bias = jnp.asarray(rng.normal(size=5), jnp.float32)
    variables = {"params": {"binary_kernel": kernel, "bias": bias}}
    w = np.mean(np.abs(kernel), axis=0) * np.where(np.asarray(kernel) >= 0, 1, -1)
    np.testing.assert_allclose(dense.apply(variables, x), np.asarray(x) @ w + np.asarray(bias), atol=1e-5)
    # The 1-bit conv is flax's Conv (stride 2, SAME) run with the binarised kernel.
    conv = spiking.BinaryConv1D(6, 5, strides=2, use_bias=False)
    kernel = conv.init(jax.random.key(1), x)["params"]["binary_kernel"]
    assert kernel.shape == (5, 4, 6)
    got = conv.apply({"params": {"binary_kernel": kernel}}, x)
    ref = nn.Conv(6, (5,), strides=(2,), padding="SAME", use_bias=False).apply(
        {"params": {"kernel": spiking.binarize(kernel)}}, x)
    assert got.shape == (2, 6, 6)
    np.testing.assert_allclose(got, ref, atol=1e-5)
    values = np.unique(np.abs(np.asarray(spiking.binarize(kernel))).round(6), axis=None)
    assert values.size <= 6  # one magnitude per output channel: sign times scale


def test_operation_counts_are_events_times_fan_out():
    rng = np.random.default_rng(4)
    spikes = (rng.random((3, 20, 4)) < 0.2).astype(np.float32)
    kernel, stride, features = 5, 2, 7
    ops = spiking.conv1d_ops(jnp.asarray(spikes), kernel, stride, "SAME", features)
    # Brute force: SAME padding for length 20, kernel 5, stride 2 is 10 outputs, (1, 2) padding.
    padded = np.pad(spikes, ((0, 0), (1, 2), (0, 0)))
    real = np.pad(np.ones_like(spikes), ((0, 0), (1, 2), (0, 0)))
    windows = [slice(2 * t, 2 * t + kernel) for t in range(10)]
    synops = features * sum(padded[:, w].sum() for w in windows) / 3
    macs = features * sum(real[0, w].sum() for w in windows)
    np.testing.assert_allclose(ops["synops"], synops, rtol=1e-6)
    np.testing.assert_allclose(ops["macs"], macs, rtol=1e-6)
    dense = spiking.dense_ops(jnp.asarray(spikes[:, 0]), features)
    np.testing.assert_allclose(dense["synops"], features * spikes[:, 0].sum() / 3, rtol=1e-6)
    assert float(dense["macs"]) == features * 4
