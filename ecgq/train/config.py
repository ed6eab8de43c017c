"""Training hyperparameters: ``train_config()`` and the help of each field in ``FIELD_DOCS``.

One ``train_config()`` serves the teacher and every student; a study overrides fields per role
(``config.teacher.train.epochs``, ``config.students.cnn1d.train.learning_rate``...). Every field
the training layer reads is present here so that ``--config.<path>=...`` overrides always work,
and ``check_train_config`` rejects values that could only fail later (or silently do nothing).
"""

from __future__ import annotations

import ml_collections

from ecgq.errors import ConfigError
from ecgq.train.sampling import EPOCH_SAMPLINGS

OPTIMIZERS = ("adamw", "adam", "sgd", "nadam", "lamb", "lion", "rmsprop")
SCHEDULES = ("cosine_restarts", "cosine", "constant")


def train_config() -> ml_collections.ConfigDict:
    """Defaults suited to the compact students on a few thousand ECG windows."""
    c = ml_collections.ConfigDict()
    c.epochs = 30
    c.batch_size = 128
    c.eval_batch_size = 1024
    c.optimizer = "adamw"
    c.learning_rate = 1e-3
    c.weight_decay = 1e-4
    c.momentum = 0.9
    c.schedule = "cosine_restarts"
    c.warmup_epochs = 1.0
    c.restart_epochs = 10.0
    c.restart_mult = 1.0
    c.min_lr_ratio = 0.01
    c.grad_clip_norm = 1.0
    c.class_weighting = "balanced"
    c.epoch_sampling = "all"
    c.compute_dtype = "float32"
    c.trainable_regex = ""
    c.selection_metric = "balanced_accuracy"
    c.early_stopping_patience = 10
    c.min_delta = 0.0
    c.n_seeds = 3
    c.data_order = "shared"
    c.member_axis = "auto"
    c.max_members_per_chunk = 0
    c.memory_budget_gb = 0.0
    c.steps_per_call = 50
    c.checkpoint_every_epochs = 1
    c.max_to_keep = 2
    c.progress = True
    return c


def mesh_config() -> ml_collections.ConfigDict:
    """``config.mesh``: how a study spreads its members and batches over devices (``ecgq.train.sharding``).

    The default takes every device for the member axis: on one device that is no mesh at all
    (unchanged behaviour), on a node of several GPUs (or several hosts) the members spread over them.
    """
    c = ml_collections.ConfigDict()
    c.members = 0
    c.data = 1
    return c


def pretrain_config() -> ml_collections.ConfigDict:
    """Reconstruction pre-training of an autoencoder student (ae_vqc) before classification."""
    c = ml_collections.ConfigDict()
    c.epochs = 5
    c.batch_size = 128
    c.learning_rate = 2e-3
    c.subtrees = ("encoder", "decoder")
    return c


PRETRAIN_DOCS: dict[str, str] = {
    "epochs": "Autoencoder reconstruction pre-training epochs before classification (0 = none).",
    "batch_size": "Batch size of the autoencoder pre-training.",
    "learning_rate": "AdamW learning rate (cosine decay) of the autoencoder pre-training.",
    "subtrees": "Top-level parameter subtrees handed from pre-training to the student.",
}

MESH_DOCS: dict[str, str] = {
    "members": "Devices the member axis (seeds x KD settings) is split over; 0 = every device that mesh.data "
               "leaves (1 device: no mesh, the single-device run). Members the axis does not divide are "
               "padded with copies of the last member, dropped from every output. A mesh of more than one "
               "device vmaps the members (train.member_axis 'auto' or 'vmap'; 'loop' is refused).",
    "data": "Devices every training and evaluation batch is split over (gradients are summed across them); "
            "must divide the training batch. Use it when there are fewer members than devices (a teacher).",
}

FIELD_DOCS: dict[str, str] = {
    "epochs": "Maximum number of passes over the training split (early stopping may end sooner).",
    "batch_size": "Training mini-batch size (the last incomplete batch of an epoch is dropped).",
    "eval_batch_size": "Batch size for validation/test/teacher forward passes (no effect on results).",
    "optimizer": f"optax optimiser: one of {OPTIMIZERS}; weight_decay/momentum are passed where accepted.",
    "learning_rate": "Peak learning rate of the schedule.",
    "weight_decay": "Decoupled weight decay (AdamW/lamb/lion); ignored by optimisers without it.",
    "momentum": "Momentum for sgd/rmsprop; ignored by the others.",
    "schedule": f"Learning-rate schedule: one of {SCHEDULES} (cosine_restarts = SGDR, optax.sgdr_schedule).",
    "warmup_epochs": "Linear warm-up length at the start of each cosine cycle, in epochs.",
    "restart_epochs": "Length of the first cosine cycle in epochs (cosine_restarts only).",
    "restart_mult": "Each cosine cycle is this many times longer than the previous one (SGDR T_mult).",
    "min_lr_ratio": "Lowest learning rate of a cycle as a fraction of learning_rate.",
    "grad_clip_norm": "Clip gradients to this global L2 norm; 0 disables clipping.",
    "class_weighting": "'balanced' weights each sample by n/(k*count(class)) from the training split; 'none'.",
    "epoch_sampling": "'all': every epoch visits every training sample; 'undersample': every minority-class sample "
                      "and as many majority samples as the next largest class has, a new slice of the majority "
                      "class each epoch (single-label tasks; class_weighting then balances the epoch's counts).",
    "compute_dtype": "'float32' or 'bfloat16' (forward/backward in bf16 with f32 master weights; accelerators only, CPU stays f32).",
    "trainable_regex": "Only parameters whose '/'-joined path matches this regex are updated ('' = all); e.g. 'head' for a linear probe.",
    "selection_metric": "Validation metric for best-epoch selection and early stopping: 'balanced_accuracy' or 'loss'.",
    "early_stopping_patience": "Stop a seed after this many epochs without validation improvement; 0 disables.",
    "min_delta": "Smallest change of the selection metric that counts as an improvement.",
    "n_seeds": "Independent seeds (init and dropout keys) trained together as one vmapped program.",
    "data_order": "'shared': all seeds see the same batch order; 'per_seed': each seed shuffles with its own key.",
    "member_axis": "How the members (seeds x KD settings) share the device: 'vmap' (one vmapped program per step), "
                   "'loop' (one jitted single-member step per member) or 'auto' (loop on CPU, where the vmapped "
                   "program is slower, vmap elsewhere); results agree to float rounding.",
    "max_members_per_chunk": "Upper bound on seeds x settings trained in one vmapped program; 0 = decided from memory.",
    "memory_budget_gb": "Memory the vmapped program may use when sizing chunks; 0 = half the free device memory.",
    "steps_per_call": "Optimiser steps between two progress-bar updates (each step is one jitted, vmapped call).",
    "checkpoint_every_epochs": "Save every seed's state (and the best-on-validation state) every this many epochs.",
    "max_to_keep": "Periodic checkpoints kept on disk per training run.",
    "progress": "Show a tqdm bar with live training loss and validation metric.",
}


SELECTION_METRICS = ("balanced_accuracy", "loss")
CLASS_WEIGHTINGS = ("balanced", "none")
COMPUTE_DTYPES = ("float32", "bfloat16")
DATA_ORDERS = ("shared", "per_seed")
MEMBER_AXES = ("auto", "vmap", "loop")


def _require(ok: bool, where: str, field: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"--config.{where}.{field} {message}")


def check_train_config(cfg: ml_collections.ConfigDict, where: str = "train") -> None:
    """Reject a training config that cannot run (or would train nothing); errors name the field."""
    for field in ("epochs", "batch_size", "eval_batch_size", "n_seeds", "steps_per_call",
                  "checkpoint_every_epochs", "max_to_keep"):
        _require(int(cfg[field]) >= 1, where, field, f"must be >= 1, got {cfg[field]}.")
    _require(float(cfg.learning_rate) > 0, where, "learning_rate", f"must be > 0, got {cfg.learning_rate}.")
    for field in ("weight_decay", "warmup_epochs", "grad_clip_norm", "min_delta", "memory_budget_gb"):
        _require(float(cfg[field]) >= 0, where, field, f"must be >= 0, got {cfg[field]}.")
    for field in ("early_stopping_patience", "max_members_per_chunk"):
        _require(int(cfg[field]) >= 0, where, field, f"must be >= 0 (0 = off), got {cfg[field]}.")
    _require(float(cfg.restart_epochs) > 0, where, "restart_epochs", f"must be > 0, got {cfg.restart_epochs}.")
    _require(float(cfg.restart_mult) >= 1, where, "restart_mult", f"must be >= 1, got {cfg.restart_mult}.")
    _require(0 <= float(cfg.min_lr_ratio) <= 1, where, "min_lr_ratio", f"must be in [0, 1], got {cfg.min_lr_ratio}.")
    for field, allowed in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES),
                           ("selection_metric", SELECTION_METRICS), ("class_weighting", CLASS_WEIGHTINGS),
                           ("epoch_sampling", EPOCH_SAMPLINGS),
                           ("compute_dtype", COMPUTE_DTYPES), ("data_order", DATA_ORDERS),
                           ("member_axis", MEMBER_AXES)):
        _require(cfg[field] in allowed, where, field, f"must be one of {list(allowed)}, got {cfg[field]!r}.")
    if cfg.trainable_regex:
        import re

        try:
            re.compile(cfg.trainable_regex)
        except re.error as error:
            raise ConfigError(f"--config.{where}.trainable_regex is not a regular expression ({error}).") from None


def check_mesh_config(cfg: ml_collections.ConfigDict, where: str = "mesh") -> None:
    """Reject mesh sizes that cannot describe a device grid (device counts are checked when the mesh
    is built, ``ecgq.train.sharding.make_mesh``)."""
    _require(int(cfg.members) >= 0, where, "members", f"must be >= 0 (0 = all devices), got {cfg.members}.")
    _require(int(cfg.data) >= 1, where, "data", f"must be >= 1, got {cfg.data}.")


def check_pretrain_config(cfg: ml_collections.ConfigDict, where: str = "pretrain") -> None:
    _require(int(cfg.epochs) >= 0, where, "epochs", f"must be >= 0 (0 = no pre-training), got {cfg.epochs}.")
    _require(int(cfg.batch_size) >= 1, where, "batch_size", f"must be >= 1, got {cfg.batch_size}.")
    _require(float(cfg.learning_rate) > 0, where, "learning_rate", f"must be > 0, got {cfg.learning_rate}.")
