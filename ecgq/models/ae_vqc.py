"""The quantum student ``ae_vqc`` and its classical control ``ae_mlp``.

``ae_vqc``: conv-autoencoder latent [+ RR features] -> rotation angles -> VQC -> readout.

Why this shape: a 6-qubit circuit takes six angles, so the window is compressed by a convolutional
autoencoder (pre-trained on reconstruction with ``apply(..., method="reconstruct")``). When RR
features are given they join the latent *before* the circuit (a dense layer mixes latent and RR
into one value per qubit), so every input reaches the logits only through the circuit's
measurements: joined after the circuit, RR alone could carry the result around it. The angles are
``pi * tanh`` of those values, so every value maps to a rotation in ``(-pi, pi)`` (distinct
states); the readout sees nothing but the circuit's outputs.

``ae_mlp`` is the same model with the circuit replaced by a classical layer of (as nearly as widths
allow) the circuit's number of trainable parameters and its output shape (one value in ``[-1, 1]``
per measured qubit): the difference between the two is what the circuit adds, nothing else.

Why ``ae_vqc`` used to sit at chance on windows cut at a random phase (the synthetic data, most
WFDB folders): its encoder flattened the feature maps, so the latent depended on where the beat
sat in the window, and the circuit only saw noise-like angles (a third of them within 10% of
``+-pi``). The encoder now pools over time by default (``pooling``).

During distillation the encoder is frozen (``freeze_encoder``: ``jax.lax.stop_gradient`` on the
latent, plus :func:`trainable_mask` so weight decay leaves it alone too) or fine-tuned.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections

from ecgq.errors import ConfigError
from ecgq.models.autoencoder import POOLINGS, Decoder, Encoder
from ecgq.models.controls import MatchedDense, matched_hidden
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
    """``__call__(x, rr=None, *, train=False)`` -> logits; ``reconstruct(x)``; ``encode(x)``; ``angles``.

    ``core`` maps ``(batch, n_angles)`` angles to ``(batch, n_core_outputs)``: the VQC (parameters
    ``quantum_*``) in ``ae_vqc``, the parameter-matched classical layer in ``ae_mlp``. It is the
    only path from the inputs to the readout.
    """

    n_outputs: int
    core: nn.Module
    latent_dim: int = 6
    window_length: int = 256
    encoder_features: Sequence[int] = (16, 32, 32)
    kernel_size: int = 7
    pooling: str = "global"
    angle_scaling: str = "pi_tanh"
    freeze_encoder: bool = True
    readout_hidden: int = 0

    def setup(self) -> None:
        features = tuple(self.encoder_features)
        self.encoder = Encoder(self.latent_dim, self.window_length, features, self.kernel_size, self.pooling)
        self.decoder = Decoder(self.window_length, features, self.kernel_size)
        self.rr_mixer = nn.Dense(self.latent_dim)  # created only when RR features are given
        if self.readout_hidden:
            self.readout_hidden_layer = nn.Dense(self.readout_hidden)
        self.readout = nn.Dense(self.n_outputs)

    def encode(self, x: jax.Array) -> jax.Array:
        """Latent ``(batch, latent_dim)`` of windows ``(batch, window_length, leads)``."""
        return self.encoder(x)

    def reconstruct(self, x: jax.Array) -> jax.Array:
        """Autoencoder output, same shape as ``x`` (for reconstruction pre-training)."""
        return self.decoder(self.encoder(x), x.shape[-1])

    def angles(self, x: jax.Array, rr: jax.Array | None = None) -> jax.Array:
        """The circuit's input: the latent, mixed with the RR features when given, as angles."""
        z = self.encoder(x)
        if self.is_initializing():
            self.decoder(z, x.shape[-1])  # so that init also creates the decoder's parameters
        if self.freeze_encoder:
            z = jax.lax.stop_gradient(z)
        if rr is not None:
            z = self.rr_mixer(concat_rr(z, rr))
        return latent_to_angles(z, self.angle_scaling)

    def head(self, outputs: jax.Array) -> jax.Array:
        """Logits from the core's outputs alone (the readout has no other input)."""
        if self.readout_hidden:
            outputs = nn.gelu(self.readout_hidden_layer(outputs))
        return self.readout(outputs)

    def __call__(self, x: jax.Array, rr: jax.Array | None = None, *, train: bool = False):
        return self.head(self.core(self.angles(x, rr)))


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
    if model_cfg.pooling not in POOLINGS:
        raise ConfigError(f"--config.{where}.pooling must be one of {list(POOLINGS)}, got {model_cfg.pooling!r}.")
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


def _sized(model_cfg, quantum_cfg, name: str) -> ml_collections.ConfigDict:
    if not model_cfg.window_length:
        raise ConfigError(f"{name}.window_length is 0 (= the data's window): set it, or build the model "
                          "through a study or ecgq.models.create, which size it from the data.")
    check(model_cfg, quantum_cfg, name)
    return _quantum_cfg(quantum_cfg)


def build(model_cfg: ml_collections.ConfigDict, n_outputs: int,
          quantum_cfg: ml_collections.ConfigDict | None = None) -> AEVQC:
    """An ``ae_vqc`` :class:`AEVQC` from its model config and the quantum layer's config."""
    from ecgq.quantum import vqc_from_config

    qcfg = _sized(model_cfg, quantum_cfg, "ae_vqc")
    return module_from_config(AEVQC, model_cfg, n_outputs=n_outputs, core=vqc_from_config(qcfg),
                              latent_dim=_latent_dim(model_cfg, qcfg))


def circuit_size(model_cfg, quantum_cfg) -> tuple[int, int, int]:
    """``(n_inputs, n_outputs, trainable parameters)`` of the circuit ``ae_vqc`` would use."""
    from ecgq.quantum import vqc_from_config

    qcfg = _quantum_cfg(quantum_cfg)
    latent = _latent_dim(model_cfg, qcfg)
    vqc = vqc_from_config(qcfg)
    shapes = jax.eval_shape(vqc.init, jax.random.PRNGKey(0), jax.ShapeDtypeStruct((1, latent), jnp.float32))
    n_params = sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(shapes))
    return latent, vqc.n_outputs, n_params


def build_control(model_cfg: ml_collections.ConfigDict, n_outputs: int,
                  quantum_cfg: ml_collections.ConfigDict | None = None) -> AEVQC:
    """``ae_mlp``: :class:`AEVQC` whose circuit is a :class:`MatchedDense` of the circuit's size."""
    qcfg = _sized(model_cfg, quantum_cfg, "ae_mlp")
    n_in, n_out, n_params = circuit_size(model_cfg, qcfg)
    core = MatchedDense(n_out=n_out, hidden=matched_hidden(n_in, n_out, n_params))
    return module_from_config(AEVQC, model_cfg, n_outputs=n_outputs, core=core,
                              latent_dim=_latent_dim(model_cfg, qcfg))


def trainable_mask(params, freeze_encoder: bool):
    """Bools over ``params`` for classification training: the core and readout always train, the
    encoder only when not frozen, the decoder never (it does not touch the logits)."""

    def trains(top: str) -> bool:
        if top == "decoder":
            return False
        if top == "encoder":
            return not freeze_encoder
        return True

    return {top: jax.tree.map(lambda _, t=trains(top): t, sub) for top, sub in params.items()}


def _config() -> ml_collections.ConfigDict:
    # The encoder is pre-trained on reconstruction, then fine-tuned through the circuit (a frozen
    # reconstruction latent carries little class information), with a small hidden readout.
    return config_of(AEVQC, window_length=0, latent_dim=0, freeze_encoder=False, readout_hidden=16)


DOCS = {
    "latent_dim": "Autoencoder latent size d; 0 = quantum.n_qubits (angle encoding takes one value per qubit).",
    "window_length": "Input window length in samples (the decoder reconstructs exactly this); 0 = the data's window.",
    "encoder_features": "Widths of the stride-2 encoder convolutions (mirrored by the decoder); the window must be a multiple of 2**len.",
    "kernel_size": "Kernel length of the encoder and decoder convolutions.",
    "pooling": f"Encoder pooling, one of {list(POOLINGS)}: 'global' (mean + max over time: the latent ignores "
               "where the beat sits) or 'flatten' (position-aware; for R-centred beats).",
    "angle_scaling": f"Latent -> rotation angle map, one of {list(ANGLE_SCALINGS)}: pi*tanh(z) or identity.",
    "freeze_encoder": "Freeze the pre-trained encoder during classification (no gradient, no weight decay).",
    "readout_hidden": "Hidden width of the classical readout after the circuit (0 = linear readout).",
}

for _name, _family, _build, _what, _control in (
        ("ae_vqc", "quantum", build, "VQC (config.quantum)", "ae_mlp"),
        ("ae_mlp", "classical", build_control, "classical layer with the VQC's parameter count (control of ae_vqc)", "")):
    MODELS.register(ModelSpec(
        name=_name,
        role="student",
        family=_family,
        description=f"Conv autoencoder latent [+ RR] -> pi*tanh angles -> {_what} -> dense readout",
        config=_config,
        docs=DOCS,
        build=_build,
        trainable=lambda cfg, params: trainable_mask(params, cfg.freeze_encoder),
        fit_to_data=fit_to_data,
        check=check,
        pretraining="autoencoder",
        student_train={"learning_rate": 3e-3},
        uses_quantum=True,  # ae_mlp reads config.quantum too: it matches that circuit's size
        control=_control,
    ))
