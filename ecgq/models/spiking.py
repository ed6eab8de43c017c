"""Spiking layers in JAX / Flax Linen: surrogate-gradient spikes, LIF neurons, 1-bit weights.

Inputs are channels-last ``(batch, time, channels)``; the time axis of a signal is the spiking
network's time axis (one step per sample), so a strided layer before a neuron gives it a coarser
clock.

Why surrogate gradients: a spike is a Heaviside step of the membrane, whose derivative is zero
almost everywhere. Thresholding without a surrogate (the public implementation this replaces)
leaves every weight upstream of a neuron with a zero gradient, so nothing before the first
spiking layer ever trains. :func:`spike_function` keeps the exact step in the forward pass and
substitutes a smooth derivative in the backward pass (``jax.custom_jvp``, so forward- and
reverse-mode both see it), with snnTorch's two most used shapes (``snntorch.surrogate.atan`` and
``fast_sigmoid``, same formulas and default scales), so results carry over to snnTorch.

Why these LIF semantics: :func:`lif` is snnTorch's ``Leaky`` with its defaults, reset by
subtraction computed from the previous step's spike and detached from the graph::

    reset[t] = H(mem[t-1] - threshold)            (no gradient)
    mem[t]   = beta * mem[t-1] + input[t] - reset[t] * threshold
    spike[t] = H(mem[t] - threshold)              (surrogate gradient)

Subtraction keeps the charge above threshold (rate coding stays linear in the input), and a
detached reset is what snnTorch does and what lets gradients flow through the membrane alone. The
recursion runs as one ``jax.lax.scan`` over time. :class:`LIF` learns a per-channel ``beta``
parameterised as ``sigmoid(beta_logit)`` (so it cannot leave ``(0, 1)``: snnTorch clamps it
instead, which stops its gradient at the bounds) and a per-channel threshold as
``softplus(threshold_raw)`` (a non-positive threshold would fire on silence).

Why 1-bit weights this way: :func:`binarize` is XNOR-Net's ``alpha * sign(w)`` with ``alpha`` the
mean ``|w|`` of each output channel (``sign(0) = +1``), so a layer's output keeps the scale of its
real-valued weights; the backward pass is BinaryNet's straight-through estimator cancelled where
``|w| > 1``, which stops a latent weight from drifting without bound once its sign is settled.
Weights of :class:`BinaryDense` and :class:`BinaryConv1D` are named ``binary_kernel`` so that
parameter counts split into 1-bit and full precision by name (as ``quantum_*`` does for circuits).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

SURROGATES = {"arctan": 2.0, "fast_sigmoid": 25.0}  # name -> default scale (snnTorch's alpha / slope)
BINARY_PREFIX = "binary_"


def heaviside(u: jax.Array) -> jax.Array:
    """``1`` where ``u > 0``, else ``0`` (snnTorch's ``(input_ > 0).float()``: no spike at equality)."""
    u = jnp.asarray(u)
    dtype = u.dtype if jnp.issubdtype(u.dtype, jnp.floating) else jnp.float32  # bfloat16 stays bfloat16
    return (u > 0).astype(dtype)


def surrogate_gradient(name: str, scale: float = 0.0) -> Callable[[jax.Array], jax.Array]:
    """``dS/du`` that the backward pass of spike function ``name`` uses (``scale`` 0 = default).

    ``arctan``: ``alpha/2 / (1 + (pi/2 * alpha * u)^2)`` (default ``alpha = 2``), the derivative of
    ``arctan(pi/2 * alpha * u) / pi``; ``fast_sigmoid``: ``1 / (slope * |u| + 1)^2`` (default
    ``slope = 25``), the derivative of ``u / (1 + slope * |u|)``.
    """
    if name not in SURROGATES:
        raise ValueError(f"surrogate must be one of {list(SURROGATES)}, got {name!r}")
    if scale < 0:
        raise ValueError(f"surrogate scale must be >= 0 (0 = default), got {scale}")
    k = float(scale) or SURROGATES[name]
    if name == "arctan":
        return lambda u: (k / 2) / (1 + (math.pi / 2 * k * u) ** 2)
    return lambda u: 1.0 / (k * jnp.abs(u) + 1.0) ** 2


@functools.cache
def spike_function(name: str = "arctan", scale: float = 0.0) -> Callable[[jax.Array], jax.Array]:
    """``S(u)``: Heaviside forward, the surrogate ``name`` (see :func:`surrogate_gradient`) backward.

    One ``jax.custom_jvp`` per (name, scale), cached so that jit sees the same function each time.
    """
    grad = surrogate_gradient(name, scale)

    @jax.custom_jvp
    def spike(u):
        return heaviside(u)

    @spike.defjvp
    def _jvp(primals, tangents):
        (u,), (du,) = primals, tangents
        return heaviside(u), grad(u).astype(du.dtype) * du

    spike.__name__ = spike.__qualname__ = f"spike_{name}"
    return spike


def lif(currents: jax.Array, beta, threshold, spike: Callable[[jax.Array], jax.Array] | None = None,
        *, detach_reset: bool = True, mem0: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """Leaky integrate-and-fire over the time axis: ``(batch, time, ch)`` currents -> (spikes, membranes).

    ``beta`` and ``threshold`` broadcast against one time step ``(batch, ch)`` (scalars or per
    channel). ``spike`` is the spike function (default: arctan surrogate); ``detach_reset`` stops
    the gradient of the reset term as snnTorch does; ``mem0`` is the initial membrane (zeros).
    Both outputs are ``(batch, time, ch)``: ``membranes[:, t]`` is the membrane after step ``t``'s
    reset and input, the value its spike is read from (snnTorch's returned ``mem``).
    """
    if currents.ndim != 3:
        raise ValueError(f"lif expects (batch, time, channels) currents, got shape {currents.shape}")
    spike = spike_function() if spike is None else spike
    steps = jnp.swapaxes(currents, 0, 1)  # (time, batch, ch): scan over the leading axis
    mem = jnp.zeros_like(steps[0]) if mem0 is None else jnp.asarray(mem0, steps.dtype)
    beta = jnp.asarray(beta, steps.dtype)
    threshold = jnp.asarray(threshold, steps.dtype)

    def step(mem, current):
        reset = spike(mem - threshold)
        if detach_reset:
            reset = jax.lax.stop_gradient(reset)
        mem = (beta * mem + current - reset * threshold).astype(steps.dtype)
        return mem, (spike(mem - threshold), mem)

    _, (spikes, mems) = jax.lax.scan(step, mem, steps)
    return jnp.swapaxes(spikes, 0, 1), jnp.swapaxes(mems, 0, 1)


def _logit(p: float) -> float:
    return math.log(p) - math.log1p(-p)


def _inverse_softplus(y: float) -> float:
    return y + math.log(-math.expm1(-y))  # log(exp(y) - 1), stable for large y


class LIF(nn.Module):
    """LIF neurons, one per channel, over the time axis of ``(batch, time, channels)`` currents.

    Returns ``(spikes, membranes)``, both ``(batch, time, channels)``. With ``learn_beta`` the
    decay is ``sigmoid(beta_logit)`` per channel (initialised at ``beta``, which must then lie in
    ``(0, 1)``), else the constant ``beta``; with ``learn_threshold`` the threshold is
    ``softplus(threshold_raw)`` per channel (initialised at ``threshold``), else the constant.
    """

    surrogate: str = "arctan"
    surrogate_scale: float = 0.0
    beta: float = 0.9
    learn_beta: bool = True
    threshold: float = 1.0
    learn_threshold: bool = True
    detach_reset: bool = True

    @nn.compact
    def constants(self, channels: int) -> tuple[jax.Array, jax.Array]:
        """``(beta, threshold)`` as used, each ``(channels,)`` when learned, else a scalar (the
        method that creates the parameters, so that ``apply(..., method="constants")`` reads them)."""
        if self.learn_beta:
            if not 0.0 < self.beta < 1.0:
                raise ValueError(f"a learned beta is sigmoid(logit): beta must be in (0, 1), got {self.beta}")
            logit = self.param("beta_logit", nn.initializers.constant(_logit(self.beta)), (channels,))
            beta = jax.nn.sigmoid(logit)
        else:
            if not 0.0 <= self.beta <= 1.0:
                raise ValueError(f"beta must be in [0, 1], got {self.beta}")
            beta = jnp.asarray(self.beta, jnp.float32)
        if self.threshold <= 0:
            raise ValueError(f"threshold must be > 0, got {self.threshold}")
        if self.learn_threshold:
            raw = self.param("threshold_raw", nn.initializers.constant(_inverse_softplus(self.threshold)),
                             (channels,))
            threshold = jax.nn.softplus(raw)
        else:
            threshold = jnp.asarray(self.threshold, jnp.float32)
        return beta, threshold

    def __call__(self, currents: jax.Array) -> tuple[jax.Array, jax.Array]:
        beta, threshold = self.constants(currents.shape[-1])
        return lif(currents, beta, threshold, spike_function(self.surrogate, float(self.surrogate_scale)),
                   detach_reset=self.detach_reset)


# --- 1-bit weights -------------------------------------------------------------------------------


def sign(w: jax.Array) -> jax.Array:
    """``+1`` where ``w >= 0``, else ``-1`` (``jnp.sign`` would give 0 at 0: not one bit)."""
    return jnp.where(w >= 0, 1.0, -1.0).astype(w.dtype)


def binary_scales(w: jax.Array) -> jax.Array:
    """Mean ``|w|`` of each output channel (the last axis), kept broadcastable against ``w``."""
    return jnp.mean(jnp.abs(w), axis=tuple(range(w.ndim - 1)), keepdims=True)


@jax.custom_jvp
def binarize(w: jax.Array) -> jax.Array:
    """``alpha * sign(w)`` with per-output-channel ``alpha``; the gradient passes straight through
    where ``|w| <= 1`` and is zero elsewhere."""
    return binary_scales(w) * sign(w)


@binarize.defjvp
def _binarize_jvp(primals, tangents):
    (w,), (dw,) = primals, tangents
    return binarize(w), jnp.where(jnp.abs(w) <= 1, dw, jnp.zeros_like(dw))


class BinaryDense(nn.Module):
    """``x @ binarize(binary_kernel) + bias``: 1-bit weights (one scale per output), full-precision bias."""

    features: int
    use_bias: bool = True
    kernel_init: Callable = nn.initializers.lecun_normal()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kernel = self.param(BINARY_PREFIX + "kernel", self.kernel_init, (x.shape[-1], self.features))
        y = x @ binarize(kernel).astype(x.dtype)
        if self.use_bias:
            y = y + self.param("bias", nn.initializers.zeros, (self.features,)).astype(x.dtype)
        return y


def _conv1d(x, kernel, strides: int, padding):
    return jax.lax.conv_general_dilated(x, kernel, (strides,), padding,
                                        dimension_numbers=("NWC", "WIO", "NWC"))


class BinaryConv1D(nn.Module):
    """1-D convolution over the time axis of ``(batch, time, in)`` with a 1-bit kernel.

    ``binary_kernel`` is ``(kernel_size, in, features)``, binarised per output channel; padding
    is a ``jax.lax`` padding (``"SAME"`` as ``flax.linen.Conv``'s default), bias full precision.
    """

    features: int
    kernel_size: int
    strides: int = 1
    padding: str = "SAME"
    use_bias: bool = True
    kernel_init: Callable = nn.initializers.lecun_normal()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if x.ndim != 3:
            raise ValueError(f"BinaryConv1D expects (batch, time, channels), got shape {x.shape}")
        kernel = self.param(BINARY_PREFIX + "kernel", self.kernel_init,
                            (self.kernel_size, x.shape[-1], self.features))
        y = _conv1d(x, binarize(kernel).astype(x.dtype), self.strides, self.padding)
        if self.use_bias:
            y = y + self.param("bias", nn.initializers.zeros, (self.features,)).astype(x.dtype)
        return y


# --- operation counts ----------------------------------------------------------------------------


def conv1d_ops(x: jax.Array, kernel_size: int, strides: int, padding: str, features: int) -> dict:
    """Per-sample operation counts of a 1-D convolution of ``x`` ``(batch, time, in)``.

    ``synops``: accumulates an event-driven implementation performs, one per non-zero input and
    weight it meets (a spike reaching ``features`` outputs at each position its kernel covers);
    ``macs``: multiply-accumulates of a dense implementation (padding taps excluded). For spike
    inputs ``synops <= macs``, their ratio the layer's input activity; for analog inputs they agree.
    """
    ones = jnp.ones((kernel_size, x.shape[-1], 1), jnp.float32)
    active = _conv1d((x != 0).astype(jnp.float32), ones, strides, padding)
    dense = _conv1d(jnp.ones(x.shape[1:], jnp.float32)[None], ones, strides, padding)
    return {"synops": features * jnp.sum(active) / x.shape[0], "macs": features * jnp.sum(dense)}


def dense_ops(x: jax.Array, features: int) -> dict:
    """Per-sample ``synops`` / ``macs`` (see :func:`conv1d_ops`) of a dense layer on ``x`` ``(batch, in)``."""
    return {"synops": features * jnp.sum(x != 0) / x.shape[0],
            "macs": jnp.asarray(features * x.shape[-1], jnp.float32)}
