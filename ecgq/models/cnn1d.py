"""A light 1-D CNN student (~20 k parameters): conv -> BN -> ReLU -> max-pool blocks, GAP, MLP head.

The smallest classical baseline the quantum student is compared against: few enough parameters
that the comparison with a handful of VQC weights is meaningful.

Max-pooling goes through :func:`max_pool_1d` rather than ``nn.max_pool``: the same function and
the same gradient, but XLA:CPU lowers the gradient of ``reduce_window`` (``select_and_scatter``)
to index iotas, a variadic arg-max reduce-window and a scatter, which took about half of cnn1d's
training step on a 2-core CPU (``experiments/bench_train_step.py`` times the step).
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from ecgq.models.heads import concat_rr
from ecgq.models.registry import MODELS, ModelSpec, config_of, module_from_config


def max_pool_1d(x: jax.Array, window: int, stride: int) -> jax.Array:
    """``nn.max_pool(x, (window,), strides=(stride,), padding="SAME")`` over the time axis (-2).

    The same values (SAME padding with ``-inf``, NaN propagates) and the same gradient: each
    window's gradient goes to its first maximal element, the ``>=`` selection of the gradient of
    ``reduce_window``. Written as ``window`` strided slices joined by ``where`` so that the
    backward pass is a few elementwise selects and strided pads instead of ``select_and_scatter``,
    which XLA:CPU runs as index iotas, an arg-max reduce-window and a scatter (several times
    slower than the whole forward pass on a 2-core CPU).
    """
    axis = x.ndim - 2
    length = x.shape[axis]
    out = -(-length // stride)
    total = max((out - 1) * stride + window - length, 0)
    if total:
        pad = [(0, 0)] * x.ndim
        pad[axis] = (total // 2, total - total // 2)
        x = jnp.pad(x, pad, constant_values=-jnp.inf)
    result = None
    for offset in range(window):
        part = jax.lax.slice_in_dim(x, offset, offset + (out - 1) * stride + 1, stride, axis=axis)
        if result is None:
            result = part
        else:  # strictly greater: ties keep the earlier element, as select_and_scatter's >= does
            result = jnp.where((part > result) | jnp.isnan(part), part, result)
    return result


class CNN1D(nn.Module):
    """``__call__(x, rr=None, *, train=False)``: ``x`` ``(batch, time, leads)`` -> logits."""

    n_outputs: int
    features: Sequence[int] = (32, 48, 64)
    kernel_sizes: Sequence[int] = (7, 5, 3)
    # 4, not 2: a receptive field of 55 samples (0.55 s at 100 Hz) reaches the P wave and ST segment
    # of a beat; with 2 (23 samples) validation balanced accuracy on the default synthetic study was
    # 0.78 against 0.88 (3 seeds).
    pool_size: int = 4
    hidden: int = 32
    dropout: float = 0.1

    @nn.compact
    def __call__(self, x: jax.Array, rr: jax.Array | None = None, *, train: bool = False):
        if len(self.features) != len(self.kernel_sizes):
            raise ValueError("cnn1d: features and kernel_sizes need one entry per layer")
        if x.ndim != 3:
            raise ValueError(f"cnn1d expects (batch, time, leads), got {x.shape}")
        for width, kernel in zip(self.features, self.kernel_sizes):
            x = nn.Conv(width, (kernel,), padding="SAME", use_bias=False)(x)
            x = nn.BatchNorm(use_running_average=not train, momentum=0.9)(x)
            x = nn.relu(x)
            if self.pool_size > 1:
                x = max_pool_1d(x, self.pool_size, self.pool_size)
        x = concat_rr(x.mean(axis=-2), rr)
        x = nn.relu(nn.Dense(self.hidden)(x))
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
        return nn.Dense(self.n_outputs, name="head")(x)


MODELS.register(ModelSpec(
    name="cnn1d",
    role="student",
    family="classical",
    description="Light 1-D CNN (conv-BN-ReLU-pool blocks, GAP, MLP head), ~20 k parameters",
    config=lambda: config_of(CNN1D),
    docs={
        "features": "Width of each convolution layer.",
        "kernel_sizes": "Kernel length of each convolution layer (one per entry of features).",
        "pool_size": "Max-pool factor after each convolution layer (1 = none).",
        "hidden": "Width of the hidden dense layer before the logits.",
        "dropout": "Dropout rate after the hidden layer (training only).",
    },
    build=lambda cfg, n_outputs, _quantum=None: module_from_config(CNN1D, cfg, n_outputs=n_outputs),
))
