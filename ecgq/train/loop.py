"""The epoch loop of a multi-member training run: model selection and early stopping on validation.

``fit`` trains every member of one chunk for up to ``cfg.epochs`` epochs. After each epoch it
scores every member on the *validation* split only, keeps each member's best-on-validation state
(the state reported on test later), counts patience per member, and stops when every member has
run out of patience. Members that stopped keep training with the others (a vmapped lane cannot
leave its program, and the looped members do the same so that both give identical runs) but their
best state and counters are frozen, which is exactly what stopping them alone would give.

The members of a chunk run as one vmapped program on accelerators and one after another on CPU,
where the vmapped program is the slower of the two (``multiseed.resolve_member_axis``); the state
is stacked along the member axis either way, so checkpoints and results do not depend on it.

Periodic Orbax checkpoints make a rerun resume where the last save left off; a run whose last save
is marked finished returns its saved result without training.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from tqdm.auto import tqdm

from ecgq.eval.metrics import balanced_accuracy_fast
from ecgq.train import checkpoints, multiseed, objectives, sampling, sharding, steps
from ecgq.train.multiseed import Member
from ecgq.train.sampling import epoch_order

log = logging.getLogger(__name__)


@dataclasses.dataclass
class FitResult:
    """The outcome of one run: per-member best states and the training history.

    ``history`` maps ``train_loss`` and ``val_metric`` to lists (one per epoch) of per-member
    lists, and holds ``best_epoch`` / ``best_val`` per member and ``epochs_run``.
    """

    best_state: object
    history: dict
    resumed_from: int | None


def validation_score(logits: np.ndarray, y: np.ndarray, head: str, metric: str, multilabel: bool) -> np.ndarray:
    """Higher-is-better validation score of every member from logits ``(members, n, outputs)``."""
    scores = []
    for member_logits in logits:
        if metric == "balanced_accuracy":
            scores.append(balanced_accuracy_fast(y, steps.probabilities(member_logits, head), multilabel))
        elif metric == "loss":
            ce = objectives.cross_entropy_per_sample(jnp.asarray(member_logits), jnp.asarray(y), head)
            scores.append(-float(jnp.mean(ce)))
        else:
            raise ValueError(f"train.selection_metric must be 'balanced_accuracy' or 'loss', got {metric!r}")
    return np.nan_to_num(np.asarray(scores, np.float32), nan=-np.inf)


def fit(
    *,
    model,
    members: Sequence[Member],
    cfg: ml_collections.ConfigDict,
    train: dict[str, np.ndarray],
    val: dict[str, np.ndarray],
    head: str,
    multilabel: bool,
    data_seed: int,
    ckpt_dir: str | None,
    desc: str = "train",
    stop_after_epochs: int | None = None,
    init_params=None,
    trainable_fn: Callable | None = None,
    loss_fn: steps.LossFn = objectives.cross_entropy_loss,
    mesh: jax.sharding.Mesh | None = None,
) -> FitResult:
    """Train ``members`` of ``model`` on ``train``; select each member's best epoch on ``val``.

    ``train`` holds ``x``, ``y`` and optionally ``rr`` and ``teacher`` (teacher logits): all on the
    same samples. ``val`` holds ``x``, ``y`` and optionally ``rr``. ``stop_after_epochs`` ends the
    call early (after saving) as an interruption would: used by tests of resumption.
    ``init_params`` (leading member axis) overwrite initial parameter subtrees; ``trainable_fn``
    maps params to a bool pytree of what trains (see ``steps.make_optimizer``); ``loss_fn`` is the
    training objective (see ``steps.make_train_step``).

    ``mesh`` (``sharding.make_mesh``; ``None`` = one device): the members are split over its
    ``members`` devices (padded with copies of the last member to a multiple of them; the copies
    are never saved nor returned) and every batch over its ``data`` devices. Checkpoints hold the
    real members only, restored onto whatever mesh the resuming run has. The returned best states
    are plain arrays on the default device, whatever the mesh.
    """
    n_members = len(members)
    lane_members = sharding.pad_members(members, mesh)
    n_lanes = len(lane_members)
    n = len(train["x"])
    n_outputs = _n_outputs(train, val)
    groups = sampling.class_groups(train["y"], cfg.epoch_sampling, multilabel)
    n_epoch = sampling.epoch_size(n, groups)
    batch = min(int(cfg.batch_size), n_epoch)
    spe = steps.steps_per_epoch(n_epoch, int(cfg.batch_size))
    class_weights = steps.class_weights_from_labels(
        train["y"], n_outputs, cfg.class_weighting, multilabel,
        counts=sampling.epoch_class_counts(groups, train["y"], max(n_outputs, 2)))
    tx = steps.make_optimizer(cfg, spe, trainable_fn)
    init_fn = multiseed.make_init_fn(model, tx, train, init_params)
    keys = multiseed.seed_keys(members)
    train_step = steps.make_train_step(head, class_weights, cfg.compute_dtype, loss_fn)
    per_member = cfg.data_order == "per_seed"
    if cfg.data_order not in ("shared", "per_seed"):
        raise ValueError(f"train.data_order must be 'shared' or 'per_seed', got {cfg.data_order!r}")
    member_axis = multiseed.resolve_member_axis(cfg.get("member_axis", "auto"), sharded=mesh is not None)
    if batch % sharding.data_devices(mesh):
        raise ValueError(f"the mesh's data axis ({sharding.data_devices(mesh)} devices) must divide the training "
                         f"batch ({batch}: train.batch_size, or the epoch's sample count when smaller)")
    run_steps = multiseed.make_multi_step(train_step, per_member, member_axis, mesh)
    multi_eval = multiseed.make_multi_eval(steps.make_eval_step(cfg.compute_dtype), member_axis, mesh)
    hparams = multiseed.hparams_of(lane_members)
    log.info("%s: %d member(s), member axis %s, %s", desc, n_members, member_axis, sharding.describe(mesh))

    loop = {
        "best_val": np.full(n_members, -np.inf, np.float32),
        "best_epoch": np.full(n_members, -1, np.int32),
        "bad_epochs": np.zeros(n_members, np.int32),
        "stopped": np.zeros(n_members, bool),
    }
    history: dict = {"train_loss": [], "val_metric": [], "finished": False}
    mgr = checkpoints.manager(ckpt_dir, cfg.max_to_keep) if ckpt_dir else None
    start_epoch, resumed_from = 0, None
    restored = None
    if mgr is not None:
        # The real members only, whatever the mesh: a checkpoint resumes on any device count.
        abstract_state = jax.eval_shape(init_fn, keys)
        abstract_loop = {k: jax.ShapeDtypeStruct(v.shape, v.dtype) for k, v in loop.items()}
        restored = checkpoints.restore_latest(mgr, abstract_state, abstract_loop,
                                              _restore_sharding(mesh, n_members, n_lanes))
    if restored is not None:
        last_epoch, state, best, loop, history = restored
        loop = {k: np.asarray(v) for k, v in loop.items()}
        start_epoch, resumed_from = last_epoch + 1, last_epoch
        if history.get("finished"):
            mgr.close()
            return FitResult(_handed_back(best, n_members, mesh), _final_history(history, loop), resumed_from)
        log.info("%s: resuming after epoch %d from %s", desc, last_epoch, ckpt_dir)
        if n_lanes != n_members:  # restored replicated: pad and split over the member devices
            state, best = (sharding.spread_members(t, n_lanes, mesh) for t in (state, best))
    else:
        state = init_fn(keys)
        if mesh is not None:  # a padding lane starts as the member it copies (same seed, same init)
            state = sharding.spread_members(state, n_lanes, mesh)
        best = jax.tree_util.tree_map(jnp.copy, state)

    if mesh is None:
        train_dev = {k: jnp.asarray(v) for k, v in train.items()}
    else:
        train_dev = sharding.put(train, sharding.replicated(mesh))
        hparams = sharding.put(hparams, sharding.member_sharding(mesh))
    seeds = [m.seed for m in lane_members]
    bar = tqdm(total=int(cfg.epochs) * spe, initial=start_epoch * spe, desc=desc,
               disable=not cfg.progress, leave=False, dynamic_ncols=True)
    chunk = max(1, int(cfg.steps_per_call))
    epoch = start_epoch - 1
    for epoch in range(start_epoch, int(cfg.epochs)):
        if per_member:
            order = np.stack([epoch_order(s, epoch, n, spe, batch, groups) for s in seeds])
        else:
            order = epoch_order(data_seed, epoch, n, spe, batch, groups)
        epoch_losses = []
        for start in range(0, spe, chunk):
            idx = order[..., start:start + chunk, :]
            if mesh is None:
                idx_dev = jnp.asarray(idx)
            else:
                idx_dev = sharding.put(idx, sharding.member_sharding(mesh) if per_member else sharding.replicated(mesh))
            state, step_losses = run_steps(state, hparams, idx_dev, train_dev)
            epoch_losses.append(np.asarray(step_losses)[:n_members])
            bar.update(idx.shape[-2])
            bar.set_postfix(loss=f"{float(np.mean(epoch_losses[-1])):.4f}", refresh=False)
        val_logits = multiseed.predict(multi_eval, state, val, int(cfg.eval_batch_size))[:n_members]
        score = validation_score(val_logits, val["y"], head, cfg.selection_metric, multilabel)
        improved = (score > loop["best_val"] + float(cfg.min_delta)) & ~loop["stopped"]
        mask = sharding.pad_rows(improved, n_lanes)
        mask = jnp.asarray(mask) if mesh is None else sharding.put(mask, sharding.member_sharding(mesh))
        best = multiseed.select_members(mask, state, best)
        loop["best_val"] = np.where(improved, score, loop["best_val"]).astype(np.float32)
        loop["best_epoch"] = np.where(improved, epoch, loop["best_epoch"]).astype(np.int32)
        loop["bad_epochs"] = np.where(improved, 0, loop["bad_epochs"] + (~loop["stopped"])).astype(np.int32)
        if cfg.early_stopping_patience > 0:
            loop["stopped"] = loop["stopped"] | (loop["bad_epochs"] >= int(cfg.early_stopping_patience))
        history["train_loss"].append(np.concatenate(epoch_losses, axis=-1).mean(axis=-1).tolist())
        history["val_metric"].append(score.tolist())
        bar.set_postfix(loss=f"{float(np.mean(history['train_loss'][-1])):.4f}",
                        **{f"val_{cfg.selection_metric[:7]}": f"{float(np.mean(score)):.4f}"})
        done = bool(loop["stopped"].all()) or epoch == int(cfg.epochs) - 1
        history["finished"] = done
        if mgr is not None and (done or (epoch + 1) % max(1, int(cfg.checkpoint_every_epochs)) == 0):
            saved = (state, best) if n_lanes == n_members else \
                (sharding.gather_members(state, n_members, mesh), sharding.gather_members(best, n_members, mesh))
            checkpoints.save(mgr, epoch, *saved, loop, history)
        if done:
            break
        if stop_after_epochs is not None and epoch + 1 - start_epoch >= stop_after_epochs:
            bar.close()
            if mgr is not None:
                mgr.close()
            return FitResult(_handed_back(best, n_members, mesh), _final_history(history, loop), resumed_from)
    bar.close()
    if mgr is not None:
        mgr.close()
    return FitResult(_handed_back(best, n_members, mesh), _final_history(history, loop), resumed_from)


def _restore_sharding(mesh, n_members: int, n_lanes: int):
    """Where restored arrays go: ``None`` (the default device) without a mesh; else split over the
    member devices when the real members fill the lanes, otherwise replicated (then padded and split)."""
    if mesh is None:
        return None
    return sharding.member_sharding(mesh) if n_lanes == n_members else sharding.replicated(mesh)


def _handed_back(best, n_members: int, mesh):
    """The best states as a caller reads them: the real members, on the default device."""
    if mesh is None:
        return best
    return sharding.to_default_device(sharding.gather_members(best, n_members, mesh))


def _n_outputs(train: dict, val: dict) -> int:
    if "teacher" in train:
        return int(train["teacher"].shape[-1])
    y = np.asarray(train["y"])
    return int(y.shape[1]) if y.ndim == 2 else int(max(y.max(), np.asarray(val["y"]).max()) + 1)


def _final_history(history: dict, loop: dict) -> dict:
    out = dict(history)
    out["best_epoch"] = np.asarray(loop["best_epoch"]).tolist()
    out["best_val"] = np.asarray(loop["best_val"]).tolist()
    out["epochs_run"] = len(history["train_loss"])
    return out


class ChunkedFit(NamedTuple):
    """What :func:`chunked_fit` returns, one entry per member in ``members`` order."""

    histories: list[dict]
    logits: dict[str, np.ndarray]
    probes: list[dict]


def chunked_fit(
    *, model, members: Sequence[Member], cfg: ml_collections.ConfigDict, train: dict, val: dict,
    head: str, multilabel: bool, data_seed: int, ckpt_root: str | None, desc: str,
    predict_splits: dict[str, dict[str, np.ndarray]], init_params=None, trainable_fn=None,
    loss_fn: steps.LossFn = objectives.cross_entropy_loss,
    probe: Callable[[dict], dict] | None = None, mesh: jax.sharding.Mesh | None = None,
) -> ChunkedFit:
    """Fit all ``members`` in memory-sized chunks; return per-member histories, the logits of each
    member's best state on every split in ``predict_splits`` (``(members, n, outputs)``) and, with
    ``probe``, ``probe(variables)`` of each member's best state (while the chunk is in memory).

    ``mesh`` as in :func:`fit`; the predictions are split over it the same way. Chunks are planned
    for one device whatever the mesh (each device then holds a fraction of a chunk), so the chunks,
    and the checkpoint folders named after them, do not depend on the device count.
    """
    chunks = plan_member_chunks(model, members, cfg, train, head, loss_fn)
    histories: list[dict] = []
    probes: list[dict] = []
    logits: dict[str, list[np.ndarray]] = {name: [] for name in predict_splits}
    multi_eval = multiseed.make_multi_eval(steps.make_eval_step(cfg.compute_dtype), mesh=mesh)
    for i, chunk in enumerate(chunks):
        chunk_members = [members[j] for j in chunk]
        ckpt_dir = None if ckpt_root is None else f"{ckpt_root}/chunk_{i:03d}_of_{len(chunks):03d}"
        label = desc if len(chunks) == 1 else f"{desc} [{i + 1}/{len(chunks)}]"
        chunk_init = None if init_params is None else jax.tree_util.tree_map(
            lambda a, c=chunk: a[c.start:c.stop], init_params)
        result = fit(model=model, members=chunk_members, cfg=cfg, train=train, val=val, head=head,
                     multilabel=multilabel, data_seed=data_seed, ckpt_dir=ckpt_dir, desc=label,
                     init_params=chunk_init, trainable_fn=trainable_fn, loss_fn=loss_fn, mesh=mesh)
        for j in range(len(chunk_members)):
            histories.append({
                "train_loss": [epoch[j] for epoch in result.history["train_loss"]],
                "val_metric": [epoch[j] for epoch in result.history["val_metric"]],
                "best_epoch": result.history["best_epoch"][j],
                "best_val": result.history["best_val"][j],
            })
        on_mesh = result.best_state if mesh is None else sharding.spread_members(
            result.best_state, sharding.lanes(len(chunk_members), mesh), mesh)
        for name, split in predict_splits.items():
            split_logits = multiseed.predict(multi_eval, on_mesh, split, int(cfg.eval_batch_size))
            logits[name].append(split_logits[:len(chunk_members)])
        if probe is not None:
            probes += [probe(multiseed.member_variables(result.best_state, j)) for j in range(len(chunk_members))]
    return ChunkedFit(histories, {name: np.concatenate(parts, axis=0) for name, parts in logits.items()}, probes)


def plan_member_chunks(model, members: Sequence[Member], cfg, train: dict, head: str,
                       loss_fn: steps.LossFn = objectives.cross_entropy_loss) -> list[range]:
    """Chunks of the member axis that fit ``cfg.memory_budget_gb`` (or half the free memory)."""
    if len(members) == 1:
        return [range(1)]
    n = len(train["x"])
    batch = min(int(cfg.batch_size), n)
    tx = steps.make_optimizer(cfg, steps.steps_per_epoch(n, int(cfg.batch_size)))
    init_fn = multiseed.make_init_fn(model, tx, train)
    one = jax.eval_shape(lambda k: jax.tree_util.tree_map(lambda a: a[0], init_fn(k)),
                         multiseed.seed_keys(members[:1]))
    abstract_batch = {k: jax.ShapeDtypeStruct((batch,) + v.shape[1:], v.dtype) for k, v in train.items()}
    abstract_h = {"temperature": jax.ShapeDtypeStruct((), jnp.float32), "alpha": jax.ShapeDtypeStruct((), jnp.float32)}
    step = steps.make_train_step(head, None, cfg.compute_dtype, loss_fn)
    member_bytes = multiseed.bytes_per_member(step, one, abstract_batch, abstract_h)
    budget = int(cfg.memory_budget_gb * (1 << 30)) if cfg.memory_budget_gb > 0 else multiseed.available_bytes() // 2
    chunks = multiseed.plan_chunks(len(members), member_bytes, budget, int(cfg.max_members_per_chunk))
    log.info("%d members, ~%.1f MiB each, budget %.0f MiB -> %d chunk(s)", len(members),
             member_bytes / 2**20, budget / 2**20, len(chunks))
    return chunks
