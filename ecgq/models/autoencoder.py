"""Convolutional autoencoder: a single ECG window -> latent of size d -> the same window.

Why: the quantum student can take only a handful of inputs (one angle per qubit), so the window is
first compressed to ``d`` numbers by an encoder trained on reconstruction alone (no labels), then
the latent feeds the VQC (:mod:`ecgq.models.ae_vqc`, which holds both halves and pre-trains them
with ``apply(..., method="reconstruct")``).
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


def _check_window(window_length: int, n_layers: int) -> int:
    """Length of the encoder's last feature map; refuses windows the stride-2 stack cannot halve."""
    factor = 2**n_layers
    if window_length % factor:
        raise ValueError(f"window_length {window_length} must be a multiple of 2**{n_layers} = "
                         f"{factor} (one halving per encoder layer)")
    return window_length // factor


POOLINGS = ("global", "flatten")


class Encoder(nn.Module):
    """Stride-2 convolutions (GELU) -> pooling -> dense to ``latent_dim``.

    ``pooling="global"`` takes the mean and the max of every feature map over time, so the latent
    does not depend on where in the window a beat sits (windows cut at a random phase of the
    cardiac cycle, as in the synthetic data and most WFDB folders, need this: a flattened,
    position-dependent latent stayed at chance there). ``"flatten"`` keeps the position of every
    feature, which suits beats centred on their R peak and gives the decoder more to work with.
    """

    latent_dim: int = 6
    window_length: int = 256
    features: Sequence[int] = (16, 32, 32)
    kernel_size: int = 7
    pooling: str = "global"

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        if x.ndim != 3 or x.shape[-2] != self.window_length:
            raise ValueError(f"encoder expects (batch, {self.window_length}, leads), got {x.shape}")
        _check_window(self.window_length, len(self.features))
        for width in self.features:
            x = nn.gelu(nn.Conv(width, (self.kernel_size,), strides=(2,), padding="SAME")(x))
        if self.pooling == "global":
            pooled = jnp.concatenate([jnp.mean(x, axis=1), jnp.max(x, axis=1)], axis=-1)
        elif self.pooling == "flatten":
            pooled = x.reshape(x.shape[0], -1)
        else:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        return nn.Dense(self.latent_dim, name="to_latent")(pooled)


class Decoder(nn.Module):
    """Dense -> reshape -> stride-2 transposed convolutions mirroring the encoder -> ``n_leads``."""

    window_length: int = 256
    features: Sequence[int] = (16, 32, 32)
    kernel_size: int = 7

    @nn.compact
    def __call__(self, z: jax.Array, n_leads: int) -> jax.Array:
        length = _check_window(self.window_length, len(self.features))
        widths = tuple(reversed(self.features))
        x = nn.gelu(nn.Dense(length * widths[0], name="from_latent")(z))
        x = x.reshape(z.shape[0], length, widths[0])
        for width in widths[1:]:
            x = nn.gelu(nn.ConvTranspose(width, (self.kernel_size,), strides=(2,), padding="SAME")(x))
        return nn.ConvTranspose(n_leads, (self.kernel_size,), strides=(2,), padding="SAME",
                                name="to_signal")(x)


def reconstruction_loss(reconstruction: jax.Array, target: jax.Array) -> jax.Array:
    """Mean squared error over every sample, lead and batch element."""
    return jnp.mean(jnp.square(reconstruction - target))
