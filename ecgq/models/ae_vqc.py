"""The quantum student: conv-autoencoder latent -> rotation angles -> VQC -> classical readout.

Why this shape: a 6-qubit circuit takes six angles, so the window is compressed by a convolutional
autoencoder (pre-trained on reconstruction with ``apply(..., method="reconstruct")``), its latent is
squashed into ``(-pi, pi)`` by ``pi * tanh`` so that every latent value maps to a distinct rotation,
and the circuit's expectation values go through a small dense readout to the class logits. Optional
RR features join the circuit outputs before the readout.

During distillation the encoder is frozen (``freeze_encoder``: ``jax.lax.stop_gradient`` on the
latent, plus :func:`trainable_mask` so weight decay leaves it alone too) or fine-tuned.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from ecgq.models.autoencoder import Decoder, Encoder
from ecgq.models.heads import concat_rr

ANGLE_SCALINGS = ("pi_tanh", "none")


def latent_to_angles(z: jax.Array, scaling: str) -> jax.Array:
    """Map latent values to rotation angles: ``pi * tanh(z)`` (bounded, one-to-one) or identity."""
    if scaling == "pi_tanh":
        return jnp.pi * jnp.tanh(z)
    if scaling == "none":
        return z
    raise ValueError(f"angle_scaling must be one of {ANGLE_SCALINGS}, got {scaling!r}")


class AEVQC(nn.Module):
    """``__call__(x, rr=None, *, train=False)`` -> logits; ``reconstruct(x)``; ``encode(x)``.

    ``vqc`` is the quantum layer's module mapping ``(batch, latent_dim)`` angles to
    ``(batch, n_measurements)``; its parameters are named ``quantum_*``.
    """

    n_outputs: int
    vqc: nn.Module
    latent_dim: int = 6
    window_length: int = 256
    encoder_features: Sequence[int] = (16, 32, 32)
    kernel_size: int = 7
    angle_scaling: str = "pi_tanh"
    freeze_encoder: bool = True
    readout_hidden: int = 0

    def setup(self) -> None:
        features = tuple(self.encoder_features)
        self.encoder = Encoder(self.latent_dim, self.window_length, features, self.kernel_size)
        self.decoder = Decoder(self.window_length, features, self.kernel_size)
        if self.readout_hidden:
            self.readout_hidden_layer = nn.Dense(self.readout_hidden)
        self.readout = nn.Dense(self.n_outputs)

    def encode(self, x: jax.Array) -> jax.Array:
        """Latent ``(batch, latent_dim)`` of windows ``(batch, window_length, leads)``."""
        return self.encoder(x)

    def reconstruct(self, x: jax.Array) -> jax.Array:
        """Autoencoder output, same shape as ``x`` (for reconstruction pre-training)."""
        return self.decoder(self.encoder(x), x.shape[-1])

    def __call__(self, x: jax.Array, rr: jax.Array | None = None, *, train: bool = False):
        z = self.encoder(x)
        if self.is_initializing():
            self.decoder(z, x.shape[-1])  # so that init also creates the decoder's parameters
        if self.freeze_encoder:
            z = jax.lax.stop_gradient(z)
        h = concat_rr(self.vqc(latent_to_angles(z, self.angle_scaling)), rr)
        if self.readout_hidden:
            h = nn.gelu(self.readout_hidden_layer(h))
        return self.readout(h)


def build(model_cfg: ml_collections.ConfigDict, n_outputs: int,
          quantum_cfg: ml_collections.ConfigDict | None = None) -> AEVQC:
    """An :class:`AEVQC` from the ``ae_vqc`` model config and the quantum layer's config."""
    from ecgq.quantum import vqc_from_config

    if quantum_cfg is None:
        from ecgq.quantum.config import quantum_config

        quantum_cfg = quantum_config()
    vqc = vqc_from_config(quantum_cfg)
    n_qubits = getattr(vqc, "n_qubits", None)
    encoding = getattr(vqc, "encoding", "angle")
    if encoding == "angle" and n_qubits is not None and n_qubits != model_cfg.latent_dim:
        raise ValueError(f"angle encoding feeds one latent value per qubit: latent_dim="
                         f"{model_cfg.latent_dim} but the VQC has {n_qubits} qubits")
    if model_cfg.angle_scaling not in ANGLE_SCALINGS:
        raise ValueError(f"angle_scaling must be one of {ANGLE_SCALINGS}, "
                         f"got {model_cfg.angle_scaling!r}")
    return AEVQC(
        n_outputs=n_outputs,
        vqc=vqc,
        latent_dim=model_cfg.latent_dim,
        window_length=model_cfg.window_length,
        encoder_features=tuple(model_cfg.encoder_features),
        kernel_size=model_cfg.kernel_size,
        angle_scaling=model_cfg.angle_scaling,
        freeze_encoder=model_cfg.freeze_encoder,
        readout_hidden=model_cfg.readout_hidden,
    )


def trainable_mask(params, freeze_encoder: bool):
    """Bools over ``params`` for classification training: VQC and readout always train, the
    encoder only when not frozen, the decoder never (it does not touch the logits)."""

    def trains(top: str) -> bool:
        if top == "decoder":
            return False
        if top == "encoder":
            return not freeze_encoder
        return True

    return {top: jax.tree.map(lambda _, t=trains(top): t, sub) for top, sub in params.items()}
