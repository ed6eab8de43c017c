"""Pure training and evaluation steps, and the optimiser they use.

``train_step(state, batch, hparams)`` and ``eval_step(state, batch)`` are pure functions of pytrees:
``jax.jit`` them at the step level (the multi-seed driver vmaps them first). ``hparams`` carries the
distillation temperature and alpha as arrays, never Python floats, so changing them never
recompiles and a grid of them can be vmapped.

A batch is a dict: ``x`` (batch, time, leads), ``y`` (labels), optionally ``rr`` (batch, 3) and
``teacher`` (teacher logits for the batch). The loss is a ``loss_fn(logits, batch, hparams, head,
sample_weights)`` (default: cross-entropy; the distillation layer passes its KD loss).
"""

from __future__ import annotations

import inspect
import re
from typing import Any, Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from ecgq.train import objectives
from ecgq.train.config import OPTIMIZERS, SCHEDULES
from ecgq.train.state import TrainState

Batch = dict[str, jax.Array]
# loss_fn(logits, batch, hparams, head, sample_weights) -> scalar loss
LossFn = Callable[[jax.Array, Batch, dict, str, "jax.Array | None"], jax.Array]


# ----------------------------------------------------------------------------------------------
# Optimiser


def learning_rate_schedule(cfg: ml_collections.ConfigDict, steps_per_epoch: int) -> optax.Schedule:
    """The learning rate as a function of the step, from the epoch-based fields of ``cfg``."""
    peak = float(cfg.learning_rate)
    low = peak * float(cfg.min_lr_ratio)
    total = max(1, int(cfg.epochs) * steps_per_epoch)
    warmup = int(round(float(cfg.warmup_epochs) * steps_per_epoch))
    if cfg.schedule == "constant":
        if warmup <= 0:
            return optax.constant_schedule(peak)
        return optax.join_schedules(
            [optax.linear_schedule(0.0, peak, warmup), optax.constant_schedule(peak)], [warmup]
        )
    if cfg.schedule == "cosine":
        return optax.warmup_cosine_decay_schedule(0.0, peak, min(warmup, total - 1), total, low)
    if cfg.schedule == "cosine_restarts":
        cycles, covered = [], 0
        period = max(1.0, float(cfg.restart_epochs) * steps_per_epoch)
        while covered < total:
            length = max(2, int(round(period)))
            cycles.append(dict(
                init_value=low if warmup > 0 else peak, peak_value=peak,
                warmup_steps=min(warmup, length - 1), decay_steps=length, end_value=low,
            ))
            covered += length
            period *= float(cfg.restart_mult)
        return optax.sgdr_schedule(cycles)
    raise ValueError(f"train.schedule must be one of {SCHEDULES}, got {cfg.schedule!r}")


def _path_name(path) -> str:
    return "/".join(str(getattr(k, "key", getattr(k, "name", k))) for k in path)


def trainable_labels(params: Any, regex: str) -> Any:
    """``"train"``/``"freeze"`` for each parameter leaf by matching its path against ``regex``."""
    pattern = re.compile(regex)
    return jax.tree_util.tree_map_with_path(
        lambda path, _: "train" if pattern.search(_path_name(path)) else "freeze", params
    )


def make_optimizer(cfg: ml_collections.ConfigDict, steps_per_epoch: int,
                   trainable_fn: Callable[[Any], Any] | None = None) -> optax.GradientTransformation:
    """Clipping -> optax optimiser with the schedule -> (optionally) a trainable-parameter mask.

    A parameter trains when ``cfg.trainable_regex`` matches its path ('' matches all) *and*
    ``trainable_fn(params)`` (a bool pytree, e.g. ``ecgq.models.trainable_mask`` for the teacher's
    fine-tuning mode or ae_vqc's frozen encoder) is True for it. Frozen parameters get exactly
    zero updates, weight decay included (``optax.multi_transform`` with ``set_to_zero``).
    """
    if cfg.optimizer not in OPTIMIZERS:
        raise ValueError(f"train.optimizer must be one of {OPTIMIZERS}, got {cfg.optimizer!r}")
    factory = getattr(optax, cfg.optimizer)
    accepted = inspect.signature(factory).parameters
    kwargs: dict[str, Any] = {"learning_rate": learning_rate_schedule(cfg, steps_per_epoch)}
    if "weight_decay" in accepted:
        kwargs["weight_decay"] = float(cfg.weight_decay)
    if "momentum" in accepted:
        kwargs["momentum"] = float(cfg.momentum)
    parts = []
    if cfg.grad_clip_norm and cfg.grad_clip_norm > 0:
        parts.append(optax.clip_by_global_norm(float(cfg.grad_clip_norm)))
    parts.append(factory(**kwargs))
    tx = optax.chain(*parts)
    if cfg.trainable_regex or trainable_fn is not None:
        regex = cfg.trainable_regex or ""

        def labels(params):
            by_regex = trainable_labels(params, regex)
            if trainable_fn is None:
                return by_regex
            return jax.tree_util.tree_map(
                lambda label, keep: label if keep else "freeze", by_regex, trainable_fn(params))

        tx = optax.multi_transform({"train": tx, "freeze": optax.set_to_zero()}, labels)
    return tx


def class_weights_from_labels(y: np.ndarray, n_outputs: int, mode: str, multilabel: bool,
                              counts: np.ndarray | None = None) -> np.ndarray:
    """Per-class weights ``n / (k * count)`` from the training labels ('balanced'), or ones.

    Computed once from the training split and passed to the step as a constant: validation and
    test labels never influence training. ``counts`` (samples per class of one epoch, when the
    epochs undersample: ``sampling.epoch_class_counts``) replaces the counts of the whole split.
    """
    k = max(n_outputs, 2) if not multilabel else n_outputs
    if mode == "none":
        return np.ones(k, np.float32)
    if mode != "balanced":
        raise ValueError(f"train.class_weighting must be 'balanced' or 'none', got {mode!r}")
    if counts is None:
        counts = np.asarray(y).sum(axis=0) if multilabel else np.bincount(np.asarray(y).astype(int), minlength=k)
    n = len(y) if multilabel else int(np.sum(counts))
    counts = np.maximum(np.asarray(counts, np.float64), 1.0)
    return (n / (k * counts)).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# Steps


def _compute_cast(tree: Any, dtype) -> Any:
    """Cast floating leaves for the forward pass, leaving quantum parameters in float32.

    Simulated circuits accumulate phases over many gates; bf16 there costs accuracy for no speed.
    """
    def cast(path, leaf):
        if "quantum_" in _path_name(path) or not jnp.issubdtype(leaf.dtype, jnp.floating):
            return leaf
        return leaf.astype(dtype)

    return jax.tree_util.tree_map_with_path(cast, tree)


def resolve_compute_dtype(name: str):
    """bfloat16 only where it pays (accelerators); on CPU it is emulated and slower, so f32."""
    if name == "bfloat16" and jax.default_backend() != "cpu":
        return jnp.bfloat16
    if name not in ("float32", "bfloat16"):
        raise ValueError(f"train.compute_dtype must be 'float32' or 'bfloat16', got {name!r}")
    return jnp.float32


def _forward(state: TrainState, params, batch: Batch, *, train: bool, key, dtype):
    x = batch["x"]
    rr = batch.get("rr")
    if dtype != jnp.float32:
        # Only the parameters: BatchNorm running statistics stay float32, or their moving average
        # is rounded to bfloat16 every step and stalls short of the batch statistics.
        params = _compute_cast(params, dtype)
        x = x.astype(dtype)
        rr = None if rr is None else rr.astype(dtype)
    variables = {"params": params}
    if state.batch_stats:
        variables["batch_stats"] = state.batch_stats
    kwargs = {"train": train}
    if train:
        kwargs["rngs"] = {"dropout": key}
        if state.batch_stats:
            kwargs["mutable"] = ["batch_stats"]
    out = state.apply_fn(variables, x, rr, **kwargs)
    if train and state.batch_stats:
        logits, updates = out
        return logits.astype(jnp.float32), updates["batch_stats"]
    return out.astype(jnp.float32), None


def make_train_step(
    head: str, class_weights: np.ndarray | None = None, compute_dtype: str = "float32",
    loss_fn: LossFn = objectives.cross_entropy_loss,
) -> Callable[[TrainState, Batch, dict], tuple[TrainState, dict]]:
    """Build the pure ``train_step(state, batch, hparams) -> (state, metrics)``.

    ``hparams`` are scalar arrays handed to ``loss_fn`` (per member when vmapped; for KD
    ``{"temperature": T, "alpha": a}``).
    """
    dtype = resolve_compute_dtype(compute_dtype)
    weights = None if class_weights is None else jnp.asarray(class_weights, jnp.float32)

    def train_step(state: TrainState, batch: Batch, hparams: dict) -> tuple[TrainState, dict]:
        key = jax.random.fold_in(state.dropout_key, state.step)

        def objective(params):
            logits, new_stats = _forward(state, params, batch, train=True, key=key, dtype=dtype)
            sw = None if weights is None else objectives.sample_weights_from_labels(batch["y"], weights, head)
            return loss_fn(logits, batch, hparams, head, sw), new_stats

        (loss, new_stats), grads = jax.value_and_grad(objective, has_aux=True)(state.params)
        return state.apply_gradients(grads=grads, batch_stats=new_stats), {"loss": loss}

    return train_step


def make_eval_step(compute_dtype: str = "float32") -> Callable[[TrainState, Batch], jax.Array]:
    """Build the pure ``eval_step(state, batch) -> logits`` (inference mode, float32 logits)."""
    dtype = resolve_compute_dtype(compute_dtype)

    def eval_step(state: TrainState, batch: Batch) -> jax.Array:
        logits, _ = _forward(state, state.params, batch, train=False, key=None, dtype=dtype)
        return logits

    return eval_step


def probabilities(logits: np.ndarray, head: str) -> np.ndarray:
    """Class (softmax) or per-label (sigmoid) probabilities from logits, in numpy."""
    logits = np.asarray(logits, np.float64)
    if head == "sigmoid":
        return 1.0 / (1.0 + np.exp(-logits))
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def steps_per_epoch(n_train: int, batch_size: int) -> int:
    """Full batches per epoch (the batch shrinks to the split size for tiny splits)."""
    return max(1, n_train // min(batch_size, n_train))


__all__ = [
    "class_weights_from_labels", "learning_rate_schedule", "make_eval_step", "make_optimizer",
    "make_train_step", "probabilities", "steps_per_epoch", "trainable_labels",
]
