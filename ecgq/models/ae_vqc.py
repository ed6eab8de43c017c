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

from ecgq.errors import ConfigError
from ecgq.models.autoencoder import Decoder, Encoder
from ecgq.models.heads import concat_rr
from ecgq.models.registry import MODELS, ModelSpec, config_of, module_from_config

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


def _quantum_cfg(quantum_cfg):
    if quantum_cfg is not None:
        return quantum_cfg
    from ecgq.quantum.config import quantum_config

    return quantum_config()


def _latent_dim(model_cfg, quantum_cfg) -> int:
    """latent_dim, where 0 means one latent value per qubit (what angle encoding consumes)."""
    return int(model_cfg.latent_dim) or int(_quantum_cfg(quantum_cfg).n_qubits)


def check(model_cfg: ml_collections.ConfigDict, quantum_cfg, where: str) -> None:
    """Circuit size against the encoder that feeds it; the angle map; before any training."""
    qcfg = _quantum_cfg(quantum_cfg)
    if model_cfg.angle_scaling not in ANGLE_SCALINGS:
        raise ConfigError(f"--config.{where}.angle_scaling must be one of {list(ANGLE_SCALINGS)}, "
                          f"got {model_cfg.angle_scaling!r}.")
    latent = _latent_dim(model_cfg, qcfg)
    if qcfg.encoding in ("angle", "reupload") and latent != qcfg.n_qubits:
        raise ConfigError(f"--config.{where}.latent_dim={latent} but the circuit has quantum.n_qubits="
                          f"{qcfg.n_qubits} and {qcfg.encoding} encoding takes one value per qubit; "
                          f"set latent_dim to 0 (= n_qubits) or to {qcfg.n_qubits}.")
    if qcfg.encoding == "amplitude" and not 1 <= latent <= 2 ** qcfg.n_qubits:
        raise ConfigError(f"--config.{where}.latent_dim={latent}: amplitude encoding on "
                          f"{qcfg.n_qubits} qubits takes 1..{2 ** qcfg.n_qubits} values.")


def fit_to_data(model_cfg: ml_collections.ConfigDict, view, where: str) -> None:
    """Take the window length from the data (0 = follow the data) and check the encoder can halve it."""
    if not model_cfg.window_length:
        model_cfg.window_length = int(view.length)
    elif int(model_cfg.window_length) != int(view.length):
        raise ConfigError(f"--config.{where}.window_length={model_cfg.window_length} but the data's "
                          f"windows have {view.length} samples; set it to 0 to follow the data.")
    factor = 2 ** len(model_cfg.encoder_features)
    if model_cfg.window_length % factor:
        raise ConfigError(f"{where}: the encoder halves the window {len(model_cfg.encoder_features)} times, "
                          f"so the window ({model_cfg.window_length} samples) must be a multiple of {factor}; "
                          "change the data's window_length / crop_length or "
                          f"--config.{where}.encoder_features.")


def build(model_cfg: ml_collections.ConfigDict, n_outputs: int,
          quantum_cfg: ml_collections.ConfigDict | None = None) -> AEVQC:
    """An :class:`AEVQC` from the ``ae_vqc`` model config and the quantum layer's config."""
    from ecgq.quantum import vqc_from_config

    if not model_cfg.window_length:
        raise ConfigError("ae_vqc.window_length is 0 (= the data's window): set it, or build the model "
                          "through a study or ecgq.models.create, which size it from the data.")
    check(model_cfg, quantum_cfg, "ae_vqc")
    return module_from_config(AEVQC, model_cfg, n_outputs=n_outputs,
                              vqc=vqc_from_config(_quantum_cfg(quantum_cfg)),
                              latent_dim=_latent_dim(model_cfg, quantum_cfg))


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


MODELS.register(ModelSpec(
    name="ae_vqc",
    role="student",
    family="quantum",
    description="Conv autoencoder latent -> pi*tanh angles -> VQC (config.quantum) -> dense readout",
    # The encoder is pre-trained on reconstruction, then fine-tuned through the circuit (a frozen
    # reconstruction latent carries little class information), with a small hidden readout.
    config=lambda: config_of(AEVQC, window_length=0, latent_dim=0, freeze_encoder=False, readout_hidden=16),
    docs={
        "latent_dim": "Autoencoder latent size d; 0 = quantum.n_qubits (angle encoding takes one value per qubit).",
        "window_length": "Input window length in samples (the decoder reconstructs exactly this); 0 = the data's window.",
        "encoder_features": "Widths of the stride-2 encoder convolutions (mirrored by the decoder); the window must be a multiple of 2**len.",
        "kernel_size": "Kernel length of the encoder and decoder convolutions.",
        "angle_scaling": f"Latent -> rotation angle map, one of {list(ANGLE_SCALINGS)}: pi*tanh(z) or identity.",
        "freeze_encoder": "Freeze the pre-trained encoder during classification (no gradient, no weight decay).",
        "readout_hidden": "Hidden width of the classical readout after the VQC (0 = linear readout).",
    },
    build=build,
    trainable=lambda cfg, params: trainable_mask(params, cfg.freeze_encoder),
    fit_to_data=fit_to_data,
    check=check,
    pretraining="autoencoder",
    student_train={"learning_rate": 3e-3},
    uses_quantum=True,
))
