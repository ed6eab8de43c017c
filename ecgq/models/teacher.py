"""ECGFounder as a teacher: inputs shaped as it was trained on, a new task head, and which
parameters fine-tune.

Why an adapter: the released model expects 10 s of 12-lead ECG at 500 Hz in a fixed lead order,
z-scored per record, and predicts 150 labels. Our tasks have other leads, rates, lengths and
labels, so the data are brought to the teacher (:func:`adapt_inputs`, numpy, done once before the
logits are cached) and the teacher is given a fresh head (:func:`load_teacher`). Fine-tuning depth
is a boolean mask over the parameters (:func:`finetune_mask`) that the optimiser applies, so frozen
weights receive neither updates nor weight decay.

The ECGFounder-family teachers (``ecgfounder``: the released architecture; ``ecgfounder_small``:
the same family, narrow enough for a laptop CPU) are registered here with their adapter fields.
"""

from __future__ import annotations

import fractions
import pathlib
import re
from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from scipy import signal as sp_signal

from ecgq.errors import ConfigError
from ecgq.models import ecgfounder, released
from ecgq.models.registry import MODELS, InputView, ModelSpec, config_of, module_from_config

TEACHER_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
FINETUNE_MODES = ("full", "linear_probe", "last_k_stages")
NORMALIZATIONS = ("zscore", "none")

# Other spellings of the standard leads found in WFDB headers (MIT-BIH's modified limb lead MLII...).
LEAD_ALIASES = {"mlii": "II", "ml2": "II", "mli": "I", "mliii": "III", "avr": "aVR", "avl": "aVL",
                "avf": "aVF"}
_STAGE = re.compile(r"^stage_list_(\d+)$")


def canonical_lead(name: str) -> str:
    """The standard name of a lead (``MLII`` -> ``II``, ``AVR`` -> ``aVR``, ``v1`` -> ``V1``)."""
    key = name.strip().lower()
    if key in LEAD_ALIASES:
        return LEAD_ALIASES[key]
    for lead in TEACHER_LEADS:
        if lead.lower() == key:
            return lead
    return name.strip()


def lead_indices(available: Sequence[str], wanted: Sequence[str],
                 missing: str = "error") -> list[int | None]:
    """Index in ``available`` of each ``wanted`` lead (None = fill with zeros when ``missing='zeros'``)."""
    if missing not in ("error", "zeros"):
        raise ValueError(f"missing_leads must be 'error' or 'zeros', got {missing!r}")
    position = {canonical_lead(name): i for i, name in enumerate(available)}
    indices = [position.get(canonical_lead(lead)) for lead in wanted]
    absent = [lead for lead, i in zip(wanted, indices) if i is None]
    if absent and missing == "error":
        raise ValueError(f"the data have leads {list(available)} but the teacher also needs "
                         f"{absent}; set missing_leads='zeros' to feed zeros instead")
    return indices


def select_leads(x: np.ndarray, available: Sequence[str], wanted: Sequence[str],
                 missing: str = "error") -> np.ndarray:
    """``x`` ``(n, time, len(available))`` -> ``(n, time, len(wanted))`` in the teacher's order."""
    if x.shape[-1] != len(available):
        raise ValueError(f"x has {x.shape[-1]} leads but {len(available)} lead names were given")
    out = np.zeros((*x.shape[:-1], len(wanted)), dtype=x.dtype)
    for j, i in enumerate(lead_indices(available, wanted, missing)):
        if i is not None:
            out[..., j] = x[..., i]
    return out


def resample(x: np.ndarray, from_hz: float, to_hz: float) -> np.ndarray:
    """Polyphase resampling along time (axis 1); identity when the rates agree."""
    if from_hz <= 0 or to_hz <= 0:
        raise ValueError(f"sampling rates must be positive, got {from_hz} -> {to_hz}")
    if from_hz == to_hz:
        return x
    ratio = fractions.Fraction(to_hz / from_hz).limit_denominator(1000)
    return sp_signal.resample_poly(x, ratio.numerator, ratio.denominator, axis=1).astype(x.dtype)


def crop_or_pad(x: np.ndarray, length: int) -> np.ndarray:
    """Centre-crop or centre-zero-pad time (axis 1) to ``length`` samples."""
    current = x.shape[1]
    if current > length:
        start = (current - length) // 2
        return x[:, start:start + length]
    if current < length:
        before = (length - current) // 2
        return np.pad(x, ((0, 0), (before, length - current - before), (0, 0)))
    return x


def zscore_per_record(x: np.ndarray, eps: float = 1e-8) -> np.ndarray:
    """ECGFounder's normalisation: NaN -> 0, then one mean/std per record over all leads and time."""
    x = np.nan_to_num(x, nan=0.0)
    mean = x.mean(axis=(1, 2), keepdims=True)
    std = x.std(axis=(1, 2), keepdims=True)
    return ((x - mean) / (std + eps)).astype(np.float32)


def adapt_inputs(x: np.ndarray, lead_names: Sequence[str], sampling_rate: float,
                 model_cfg: ml_collections.ConfigDict) -> np.ndarray:
    """Bring ``x`` ``(n, time, leads)`` to the teacher: leads, rate, length, normalisation."""
    wanted = [lead.strip() for lead in model_cfg.lead_order.split(",") if lead.strip()]
    if len(wanted) != model_cfg.n_leads:
        raise ConfigError(f"teacher.lead_order names {len(wanted)} leads but teacher.n_leads={model_cfg.n_leads}")
    x = select_leads(np.asarray(x, np.float32), lead_names, wanted, model_cfg.missing_leads)
    if model_cfg.sampling_rate:
        x = resample(x, sampling_rate, model_cfg.sampling_rate)
    if model_cfg.input_length:
        x = crop_or_pad(x, model_cfg.input_length)
    if model_cfg.normalize == "zscore":
        x = zscore_per_record(x)
    elif model_cfg.normalize != "none":
        raise ValueError(f"normalize must be 'zscore' or 'none', got {model_cfg.normalize!r}")
    return x


def finetune_mask(params, mode: str, last_k: int = 2):
    """Pytree of bools over Net1D ``params``: which parameters train.

    ``full``: all; ``linear_probe``: the ``dense`` head only; ``last_k_stages``: the head and the
    last ``last_k`` stages.
    """
    if mode not in FINETUNE_MODES:
        raise ValueError(f"finetune must be one of {FINETUNE_MODES}, got {mode!r}")
    n_stages = sum(1 for name in params if _STAGE.match(name))
    if mode == "last_k_stages" and not 0 <= last_k <= n_stages:
        raise ValueError(f"last_k={last_k} but the model has {n_stages} stages")

    def trains(top: str) -> bool:
        if mode == "full" or top == "dense":
            return True
        match = _STAGE.match(top)
        return mode == "last_k_stages" and match is not None and int(match[1]) >= n_stages - last_k

    return {top: jax.tree.map(lambda _, t=trains(top): t, sub) for top, sub in params.items()}


def load_pretrained(checkpoint: str, n_leads: int):
    """``(module, variables)`` of released weights: a ``.pth`` (needs torch) or a converted Orbax dir."""
    path = pathlib.Path(checkpoint).expanduser()
    if path.is_dir():
        from ecgq.models.ecgfounder_import import load_converted

        return load_converted(path)
    from ecgq.models.ecgfounder_import import from_torch_checkpoint

    return from_torch_checkpoint(path, n_leads=n_leads)


def with_new_head(module: ecgfounder.Net1D, key: jax.Array, pretrained_params, n_leads: int,
                  rr_dim: int | None = None):
    """Variables for ``module`` (new ``n_classes``): backbone from ``pretrained_params``, fresh head.

    Only the head is initialised (the backbone is checked against ``module`` by shape alone), so
    attaching a head to the 30 M-parameter teacher costs no full-model compilation. With
    ``rr_dim`` the head also reads that many RR features (joined to the pooled features).
    """
    rr = None if rr_dim is None else jnp.zeros((1, int(rr_dim)))
    expected = jax.eval_shape(module.init, key, jnp.zeros((1, 64, n_leads)), rr)["params"]
    params = {}
    for name, sub in expected.items():
        if name == "dense":
            continue
        if name not in pretrained_params:
            raise ValueError(f"pretrained weights lack {name!r}: the architectures differ")
        want = jax.tree.map(lambda a: a.shape, sub)
        have = jax.tree.map(jnp.shape, pretrained_params[name])
        if want != have:
            raise ValueError(f"pretrained {name!r} does not fit the configured architecture")
        params[name] = pretrained_params[name]
    in_features = expected["dense"]["kernel"].shape[0]
    params["dense"] = nn.Dense(module.n_classes).init(key, jnp.zeros((1, in_features)))["params"]
    return {"params": params}


def load_teacher(model_cfg: ml_collections.ConfigDict, n_outputs: int, key: jax.Array,
                 rr_dim: int | None = None):
    """``(module, variables)``: the configured Net1D with a fresh ``n_outputs`` head.

    The backbone comes from ``model_cfg.checkpoint`` when set (random otherwise). Binary tasks use
    2 logits (softmax), multi-label tasks one logit per label (sigmoid); the loss decides which.
    ``rr_dim``: the head also reads that many RR features (a study's ``use_rr``).
    """
    module = build_net1d(model_cfg, n_outputs)
    rr = None if rr_dim is None else jnp.zeros((1, int(rr_dim)))
    if not model_cfg.checkpoint:
        return module, jax.jit(module.init)(key, jnp.zeros((1, 64, model_cfg.n_leads)), rr)
    _, pretrained = load_pretrained(model_cfg.checkpoint, model_cfg.n_leads)
    return module, with_new_head(module, key, pretrained["params"], model_cfg.n_leads, rr_dim)


def build_net1d(model_cfg: ml_collections.ConfigDict, n_outputs: int, _quantum_cfg=None) -> ecgfounder.Net1D:
    """A Net1D (ECGFounder family) from the architecture fields of a teacher config."""
    return module_from_config(ecgfounder.Net1D, model_cfg, n_classes=n_outputs)


ADAPTER_DOCS = {
    "checkpoint": "Teacher weights: a released ECGFounder .pth or a converted Orbax dir; '' = random init.",
    "n_leads": "Teacher input leads; 0 = as many as lead_order names (the released weights: 12, or 1 for lead II).",
    "lead_order": "Comma-separated lead names the teacher reads, in order; '' = the data's leads (in I..V6 order where they are standard leads).",
    "missing_leads": "When the data lack a lead the teacher expects: 'error' or 'zeros' (fill with zeros).",
    "sampling_rate": "Rate in Hz the data are resampled to before the teacher sees them (0 = keep the data's rate).",
    "input_length": "Teacher input length in samples; inputs are centre-cropped or zero-padded to it (0 = keep).",
    "normalize": f"Teacher input normalisation, one of {list(NORMALIZATIONS)} (zscore: ECGFounder's, per record over all leads).",
    "finetune": f"Which teacher parameters train: one of {list(FINETUNE_MODES)}.",
    "last_k": "With finetune='last_k_stages': how many final Net1D stages train (plus the head).",
}


def _teacher_config(arch: dict, *, n_leads: int, lead_order: str, sampling_rate: float,
                    input_length: int) -> ml_collections.ConfigDict:
    c = config_of(ecgfounder.Net1D, **arch)
    c.checkpoint = ""
    c.n_leads = n_leads
    c.lead_order = lead_order
    c.missing_leads = "error"
    c.sampling_rate = sampling_rate
    c.input_length = input_length
    c.normalize = "zscore"
    c.finetune = "full"
    c.last_k = 2
    return c


def released_config() -> ml_collections.ConfigDict:
    """The released ECGFounder: 12 leads in its order, 10 s at 500 Hz."""
    return _teacher_config(released.ARCH, n_leads=12, lead_order=",".join(TEACHER_LEADS),
                           sampling_rate=released.SAMPLING_RATE, input_length=released.INPUT_LENGTH)


def small_config() -> ml_collections.ConfigDict:
    """Narrow and shallow Net1D that sees the students' windows and the data's leads."""
    arch = dict(base_filters=16, ratio=1.0, filter_list=(16, 32, 32, 64, 64, 128, 128),
                m_blocks_list=(1, 1, 1, 1, 1, 1, 1), kernel_size=9, stride=2, groups_width=16,
                use_bn=False, use_do=False)
    return _teacher_config(arch, n_leads=0, lead_order="", sampling_rate=0.0, input_length=0)


def canonical_order(leads) -> list[str]:
    """The standard names of ``leads`` in I..V6 order when every one is a standard lead
    (``MLII`` -> ``II``, ``AVR`` -> ``aVR``); the names as given otherwise."""
    names = [canonical_lead(lead) for lead in leads]
    if all(name in TEACHER_LEADS for name in names):
        return sorted(names, key=TEACHER_LEADS.index)
    return list(leads)


def wanted_leads(model_cfg) -> list[str]:
    return [lead.strip() for lead in str(model_cfg.lead_order).split(",") if lead.strip()]


def check_teacher(model_cfg, _quantum_cfg, where: str) -> None:
    """Adapter fields that need no data: fine-tuning mode, normalisation, lead count."""
    if model_cfg.finetune not in FINETUNE_MODES:
        raise ConfigError(f"--config.{where}.finetune must be one of {list(FINETUNE_MODES)}, got {model_cfg.finetune!r}.")
    if model_cfg.normalize not in NORMALIZATIONS:
        raise ConfigError(f"--config.{where}.normalize must be one of {list(NORMALIZATIONS)}, got {model_cfg.normalize!r}.")
    if model_cfg.missing_leads not in ("error", "zeros"):
        raise ConfigError(f"--config.{where}.missing_leads must be 'error' or 'zeros', got {model_cfg.missing_leads!r}.")
    wanted = wanted_leads(model_cfg)
    if wanted and model_cfg.n_leads and len(wanted) != model_cfg.n_leads:
        raise ConfigError(f"--config.{where}.lead_order names {len(wanted)} leads but {where}.n_leads="
                          f"{model_cfg.n_leads}; make them agree (n_leads=0 follows lead_order).")
    if model_cfg.sampling_rate < 0 or model_cfg.input_length < 0:
        raise ConfigError(f"--config.{where}.sampling_rate and input_length must be >= 0 (0 = keep the data's).")


def fit_teacher_to_data(model_cfg, view: InputView, where: str) -> None:
    """Leads from the data where unset, then every wanted lead must be in the data (or be zeros)."""
    if not wanted_leads(model_cfg):
        model_cfg.lead_order = ",".join(canonical_order(view.leads))
    if not model_cfg.n_leads:
        model_cfg.n_leads = len(wanted_leads(model_cfg))
    try:
        lead_indices(view.leads, wanted_leads(model_cfg), model_cfg.missing_leads)
    except ValueError as error:
        raise ConfigError(f"--config.{where}.lead_order: {error}") from None
    if model_cfg.sampling_rate and not view.sampling_rate:
        raise ConfigError(f"--config.{where}.sampling_rate={model_cfg.sampling_rate} but the data do not "
                          "state their rate; set it to 0.")


def teacher_input_shape(model_cfg, view: InputView) -> tuple[int, int]:
    """(time, leads) after :func:`adapt_inputs`: resampled, then cropped or padded."""
    length = view.length
    if model_cfg.sampling_rate and view.sampling_rate:
        length = int(round(length * float(model_cfg.sampling_rate) / float(view.sampling_rate)))
    if model_cfg.input_length:
        length = int(model_cfg.input_length)
    return (length, int(model_cfg.n_leads) or len(wanted_leads(model_cfg)))


def example_view(model_cfg, input_shape) -> InputView:
    """What a script's input of ``input_shape`` is taken to be: the teacher's own leads (when it
    names as many as the input has) at the teacher's own rate."""
    wanted = wanted_leads(model_cfg)
    leads = tuple(wanted) if len(wanted) == input_shape[-1] else tuple(f"lead{i}" for i in range(input_shape[-1]))
    return InputView(int(input_shape[0]), leads, float(model_cfg.sampling_rate))


_TEACHER_DOCS = {**ecgfounder.NET1D_DOCS, **ADAPTER_DOCS}
for _name, _config, _shape, _outputs, _description in (
        ("ecgfounder", released_config, (released.INPUT_LENGTH, 12), released.N_CLASSES,
         "ECGFounder Net1D (released architecture, 30.75 M parameters); imports the released weights"),
        ("ecgfounder_small", small_config, (256, 1), 2,
         "Net1D of the ECGFounder family, narrow and shallow (trains on a CPU)")):
    MODELS.register(ModelSpec(
        name=_name, role="teacher", family="classical", description=_description, config=_config,
        docs=_TEACHER_DOCS, build=build_net1d, default_input_shape=_shape, default_n_outputs=_outputs,
        trainable=lambda cfg, params: finetune_mask(params, cfg.finetune, cfg.last_k),
        fit_to_data=fit_teacher_to_data, input_shape=teacher_input_shape, check=check_teacher,
        example_view=example_view, adapt_inputs=adapt_inputs,
    ))
