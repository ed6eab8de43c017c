"""Model hyperparameters: ``model_config(name)`` and the help of each field in ``FIELD_DOCS``.

One builder per architecture name in :data:`ecgq.models.registry.MODEL_NAMES`; each returns a
ConfigDict holding every field that architecture's builder reads, so ``--config.<path>=...``
overrides always land. Sizes are in samples and channels; tuples list one entry per stage/layer.
"""

from __future__ import annotations

import ml_collections

from ecgq.models import released

TEACHER_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
FINETUNE_MODES = ("full", "linear_probe", "last_k_stages")


def _net1d_fields(c: ml_collections.ConfigDict, **arch) -> None:
    for key, value in arch.items():
        setattr(c, key, tuple(value) if isinstance(value, list) else value)


def _teacher_fields(c: ml_collections.ConfigDict, *, checkpoint: str, n_leads: int,
                    sampling_rate: float, input_length: int) -> None:
    c.checkpoint = checkpoint
    c.n_leads = n_leads
    c.lead_order = ",".join(TEACHER_LEADS) if n_leads == 12 else "II"
    c.missing_leads = "error"
    c.sampling_rate = sampling_rate
    c.input_length = input_length
    c.normalize = "zscore"
    c.finetune = "full"
    c.last_k = 2


def ecgfounder_config() -> ml_collections.ConfigDict:
    """The released ECGFounder architecture (30.75 M parameters at 12 leads / 150 classes)."""
    c = ml_collections.ConfigDict()
    _net1d_fields(c, **released.ARCH)
    _teacher_fields(c, checkpoint="", n_leads=12,
                    sampling_rate=released.SAMPLING_RATE,
                    input_length=released.INPUT_LENGTH)
    return c


def ecgfounder_small_config() -> ml_collections.ConfigDict:
    """Same Net1D family, narrow and shallow: trains on a laptop CPU on 256-sample windows."""
    c = ml_collections.ConfigDict()
    _net1d_fields(c, base_filters=16, ratio=1.0, filter_list=(16, 32, 32, 64, 64, 128, 128),
                  m_blocks_list=(1, 1, 1, 1, 1, 1, 1), kernel_size=9, stride=2, groups_width=16,
                  use_bn=False, use_do=False)
    # No resampling and no fixed length: the small teacher sees the windows the students see.
    _teacher_fields(c, checkpoint="", n_leads=1, sampling_rate=0.0, input_length=0)
    return c


def resnet1d_config() -> ml_collections.ConfigDict:
    """PTB-XL-style residual CNN (~0.27 M parameters)."""
    c = ml_collections.ConfigDict()
    c.stem_features = 32
    c.stem_kernel = 7
    c.stage_features = (64, 128, 128)
    c.blocks_per_stage = (1, 1, 1)
    c.stage_strides = (1, 2, 2)
    c.kernel_sizes = (5, 3)
    c.dropout = 0.2
    return c


def cnn1d_config() -> ml_collections.ConfigDict:
    """Light CNN (~20 k parameters)."""
    c = ml_collections.ConfigDict()
    c.features = (32, 48, 64)
    c.kernel_sizes = (7, 5, 3)
    c.pool_size = 2
    c.hidden = 32
    c.dropout = 0.1
    return c


def ae_vqc_config() -> ml_collections.ConfigDict:
    """Conv autoencoder (256-sample window -> latent d=6) feeding a 6-qubit VQC and a readout."""
    c = ml_collections.ConfigDict()
    c.window_length = 256
    c.latent_dim = 6
    c.encoder_features = (16, 32, 32)
    c.kernel_size = 7
    c.angle_scaling = "pi_tanh"
    c.freeze_encoder = True
    c.readout_hidden = 0
    return c


_BUILDERS = {
    "ecgfounder": ecgfounder_config,
    "ecgfounder_small": ecgfounder_small_config,
    "resnet1d": resnet1d_config,
    "cnn1d": cnn1d_config,
    "ae_vqc": ae_vqc_config,
}


def model_config(name: str) -> ml_collections.ConfigDict:
    """Every field the builder of model ``name`` reads, with its default."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown model {name!r}; choose one of {tuple(_BUILDERS)}")
    return _BUILDERS[name]()


FIELD_DOCS: dict[str, str] = {
    # Net1D (ecgfounder, ecgfounder_small)
    "base_filters": "Net1D: width of the first (stride-2) convolution.",
    "ratio": "Net1D: bottleneck width as a fraction of the stage width.",
    "filter_list": "Net1D: output width of each stage (each a multiple of groups_width).",
    "m_blocks_list": "Net1D: number of blocks in each stage (the first one downsamples).",
    "kernel_size": "Kernel length of the wide convolutions (Net1D grouped conv; ae_vqc encoder/decoder).",
    "stride": "Net1D: downsampling factor of the first block of each stage.",
    "groups_width": "Net1D: channels per group of the grouped convolution (groups = width // this).",
    "use_bn": "Net1D: BatchNorm before each activation (the released weights use none: False).",
    "use_do": "Net1D: dropout (p=0.5) after each pre-activation in training (released: False).",
    # Teacher adapter
    "checkpoint": "Teacher weights: a released ECGFounder .pth or a converted Orbax dir; '' = random init.",
    "n_leads": "Teacher input leads: 12 (I..V6) or 1 (the single-lead model, lead II).",
    "lead_order": "Comma-separated lead names the teacher expects, in order (ECGFounder: I,II,III,aVR,aVL,aVF,V1..V6).",
    "missing_leads": "When the data lack a lead the teacher expects: 'error' or 'zeros' (fill with zeros).",
    "sampling_rate": "Teacher sampling rate in Hz; inputs are resampled to it (0 = keep the data's rate).",
    "input_length": "Teacher input length in samples; inputs are centre-cropped or zero-padded (0 = keep).",
    "normalize": "Teacher input normalisation: 'zscore' (ECGFounder: per record over all leads) or 'none'.",
    "finetune": f"Which teacher parameters train: one of {FINETUNE_MODES}.",
    "last_k": "With finetune='last_k_stages': how many final Net1D stages train (plus the head).",
    # resnet1d
    "stem_features": "resnet1d: width of the stem convolution.",
    "stem_kernel": "resnet1d: kernel length of the stem convolution.",
    "stage_features": "resnet1d: width of each residual stage.",
    "blocks_per_stage": "resnet1d: residual blocks in each stage.",
    "stage_strides": "resnet1d: temporal stride of the first block of each stage.",
    "kernel_sizes": "Kernel lengths: resnet1d (first, second conv of a block); cnn1d (one per layer).",
    "dropout": "Dropout rate before the classification head (training only).",
    # cnn1d
    "features": "cnn1d: width of each convolution layer.",
    "pool_size": "cnn1d: max-pool factor after each convolution layer.",
    "hidden": "cnn1d: width of the hidden dense layer before the logits.",
    # ae_vqc
    "window_length": "ae_vqc: input window length in samples (the decoder reconstructs exactly this).",
    "latent_dim": "ae_vqc: autoencoder latent size d; must equal the VQC's number of input features.",
    "encoder_features": "ae_vqc: widths of the stride-2 encoder convolutions (mirrored by the decoder).",
    "angle_scaling": "ae_vqc: latent -> rotation angle map: 'pi_tanh' (pi*tanh(z)) or 'none'.",
    "freeze_encoder": "ae_vqc: stop gradients into the pre-trained encoder during classification.",
    "readout_hidden": "ae_vqc: hidden width of the classical readout after the VQC (0 = linear).",
}
