"""The student stage of a distillation study: every seed x KD setting (plus the no-KD baseline) of
one student as one vmapped program, checkpointed, scored on test at its best validation epoch.

Students whose model asks for it (``ModelSpec.pretraining == "autoencoder"``) are first pre-trained
on reconstruction, one autoencoder per seed, and every member of that seed starts from it.
"""

from __future__ import annotations

import os

import jax
import jax.numpy as jnp
import numpy as np

from ecgq.distill.arrays import SPLITS, profile, seeds_from, split_arrays, standardize_rr
from ecgq.distill.losses import kd_batch_loss
from ecgq.distill.nisq_eval import nisq_probe
from ecgq.distill.results import TaskInfo, stage_record
from ecgq.models import build_model, model_spec, trainable_mask
from ecgq.train import loop, multiseed
from ecgq.train.pretrain import pretrain_autoencoder

INSPECT_WINDOWS = 256


def run_student_stage(name: str, scfg, *, quantum_cfg, distill_cfg, splits, teacher_logits: dict[str, np.ndarray],
                      task: TaskInfo, seed: int, workdir: str, eval_cfg, mesh=None) -> dict:
    """Train every member of student ``name`` (split over ``mesh``, ``ecgq.train.sharding``; the
    autoencoder pre-training runs on one device); return its stage record."""
    tcfg = scfg.train
    model = build_model(name, scfg, task.n_outputs, quantum_cfg)
    data = standardize_rr({s: split_arrays(getattr(splits, s), use_rr=task.use_rr) for s in SPLITS})
    seeds = seeds_from(seed, tcfg.n_seeds)
    members = multiseed.member_grid(seeds, distill_cfg.temperatures, distill_cfg.alphas, distill_cfg.include_no_kd)
    ckpt_root = os.path.join(workdir, "checkpoints", name)

    init_params = None
    if model_spec(name).pretraining == "autoencoder" and scfg.pretrain.epochs > 0:
        per_seed = pretrain_autoencoder(model, seeds, data["train"]["x"], scfg.pretrain, seed,
                                        os.path.join(ckpt_root, "pretrain"), bool(tcfg.progress))
        index = jnp.asarray([seeds.index(m.seed) for m in members])
        init_params = jax.tree_util.tree_map(lambda a: a[index], per_seed)

    train = dict(data["train"], teacher=teacher_logits["train"])
    histories, logits, inspections = loop.chunked_fit(
        model=model, members=members, cfg=tcfg, train=train, val=data["val"], head=task.head,
        multilabel=task.multilabel, data_seed=seed, ckpt_root=ckpt_root, desc=name,
        predict_splits={"val": data["val"], "test": data["test"]}, init_params=init_params,
        trainable_fn=lambda p: trainable_mask(name, scfg, p), loss_fn=kd_batch_loss,
        probe=combined(inspector(name, model, data["test"]), nisq_probe(
            name, scfg, quantum_cfg, n_outputs=task.n_outputs, head=task.head, multilabel=task.multilabel,
            split=data["test"], eval_cfg=eval_cfg, seed=seed)), mesh=mesh,
    )
    x1 = jnp.zeros((1,) + data["train"]["x"].shape[1:], jnp.float32)
    rr1 = jnp.zeros((1, data["train"]["rr"].shape[1]), jnp.float32) if task.use_rr else None
    variables = jax.jit(model.init)(jax.random.PRNGKey(seed), x1, rr1)  # jitted: eager init is slower
    cost = profile(model, variables, data["train"], eval_cfg)
    return stage_record(name, members, logits, splits, histories, cost, task, inspections)


def combined(*probes):
    """One probe returning the union of the given probes' records (``None`` ones skipped)."""
    probes = [p for p in probes if p is not None]
    if not probes:
        return None
    return lambda variables: {k: v for p in probes for k, v in p(variables).items()}


def inspector(name: str, model, split: dict[str, np.ndarray], n_windows: int = INSPECT_WINDOWS):
    """``variables -> dict``: the model's ``inspect`` hook on ``n_windows`` evenly spaced windows of
    ``split`` (spike rates and operation counts are input-dependent; these are the test windows the
    reported metrics come from, read once per member); ``None`` for models without the hook."""
    hook = model_spec(name).inspect
    if hook is None:
        return None
    take = np.unique(np.linspace(0, len(split["x"]) - 1, min(n_windows, len(split["x"]))).astype(int))
    x = jnp.asarray(split["x"][take])
    rr = jnp.asarray(split["rr"][take]) if "rr" in split else None
    return lambda variables: hook(model, variables, x, rr)
