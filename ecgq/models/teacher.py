"""ECGFounder as a teacher: inputs shaped as it was trained on, a new task head, and which
parameters fine-tune.

Why an adapter: the released model expects 10 s of 12-lead ECG at 500 Hz in a fixed lead order,
z-scored per record, and predicts 150 labels. Our tasks have other leads, rates, lengths and
labels, so the data are brought to the teacher (:func:`adapt_inputs`, numpy, done once before the
logits are cached) and the teacher is given a fresh head (:func:`load_teacher`). Fine-tuning depth
is a boolean mask over the parameters (:func:`finetune_mask`) for ``optax.masked`` /
:func:`masked_optimizer`, so frozen weights receive neither updates nor weight decay.
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
import optax
from scipy import signal as sp_signal

from ecgq.models import ecgfounder
from ecgq.models.config import FINETUNE_MODES, TEACHER_LEADS

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
        raise ValueError(f"lead_order names {len(wanted)} leads but n_leads={model_cfg.n_leads}")
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


def masked_optimizer(tx: optax.GradientTransformation, mask) -> optax.GradientTransformation:
    """``tx`` on the masked-in parameters; the others get zero updates (and no weight decay)."""
    labels = jax.tree.map(lambda trains: "train" if trains else "frozen", mask)
    return optax.multi_transform({"train": tx, "frozen": optax.set_to_zero()}, labels)


def load_pretrained(checkpoint: str, n_leads: int):
    """``(module, variables)`` of released weights: a ``.pth`` (needs torch) or a converted Orbax dir."""
    path = pathlib.Path(checkpoint).expanduser()
    if path.is_dir():
        from ecgq.models.ecgfounder_import import load_converted

        return load_converted(path)
    return ecgfounder.from_torch_checkpoint(path, n_leads=n_leads)


def with_new_head(module: ecgfounder.Net1D, key: jax.Array, pretrained_params, n_leads: int):
    """Variables for ``module`` (new ``n_classes``): backbone from ``pretrained_params``, fresh head.

    Only the head is initialised (the backbone is checked against ``module`` by shape alone), so
    attaching a head to the 30 M-parameter teacher costs no full-model compilation.
    """
    expected = jax.eval_shape(module.init, key, jnp.zeros((1, 64, n_leads)))["params"]
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


def load_teacher(model_cfg: ml_collections.ConfigDict, n_outputs: int, key: jax.Array):
    """``(module, variables)``: the configured Net1D with a fresh ``n_outputs`` head.

    The backbone comes from ``model_cfg.checkpoint`` when set (random otherwise). Binary tasks use
    2 logits (softmax), multi-label tasks one logit per label (sigmoid); the loss decides which.
    """
    from ecgq.models.registry import build_net1d

    module = build_net1d(model_cfg, n_outputs)
    if not model_cfg.checkpoint:
        return module, jax.jit(module.init)(key, jnp.zeros((1, 64, model_cfg.n_leads)))
    pretrained_module, pretrained = load_pretrained(model_cfg.checkpoint, model_cfg.n_leads)
    return module, with_new_head(module, key, pretrained["params"], model_cfg.n_leads)
