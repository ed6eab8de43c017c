"""Orbax checkpoints of a vmapped training run: every member's current and best state.

One ``CheckpointManager`` per training run (one chunk of members of one model). Each saved step
is an epoch number and holds four items:

* ``state``: the current stacked ``TrainState`` (params, batch_stats, optimiser state, RNG keys);
* ``best``: the stacked best-on-validation state of every member;
* ``loop``: the loop bookkeeping arrays (best metric and epoch, patience counters, stopped flags);
* ``history``: JSON with per-epoch training loss and validation metric, and ``finished``.

The data order of an epoch is a pure function of (seed, epoch) and dropout keys fold in the step,
so restoring the last save and re-running the remaining epochs reproduces an uninterrupted run
bit for bit. Saves are synchronous: the state's buffers are donated to the next step, and a save
that a ``kill -9`` interrupts is never committed (Orbax writes to a temporary folder and renames).
"""

from __future__ import annotations

import os
from typing import Any

import flax
import jax
import numpy as np
import orbax.checkpoint as ocp


def manager(directory: str, max_to_keep: int) -> ocp.CheckpointManager:
    """A manager keeping the last ``max_to_keep`` saves (best states travel inside every save)."""
    options = ocp.CheckpointManagerOptions(
        max_to_keep=max(1, int(max_to_keep)), create=True, enable_async_checkpointing=False,
    )
    return ocp.CheckpointManager(os.path.abspath(directory), options=options)


def _as_state_dict(state) -> dict:
    return flax.serialization.to_state_dict(state)


def save(mgr: ocp.CheckpointManager, epoch: int, state, best, loop: dict[str, np.ndarray],
         history: dict[str, Any]) -> None:
    """Save after ``epoch`` (0-based, completed); ``history['finished']`` marks a complete run."""
    mgr.save(
        epoch,
        args=ocp.args.Composite(
            state=ocp.args.StandardSave(_as_state_dict(state)),
            best=ocp.args.StandardSave(_as_state_dict(best)),
            loop=ocp.args.StandardSave({k: np.asarray(v) for k, v in loop.items()}),
            history=ocp.args.JsonSave(history),
        ),
        force=True,
    )
    mgr.wait_until_finished()


def restore_latest(mgr: ocp.CheckpointManager, abstract_state, abstract_loop: dict[str, Any],
                   sharding: jax.sharding.Sharding | None = None):
    """``(epoch, state, best, loop, history)`` from the latest save, or ``None`` if there is none.

    ``abstract_state`` comes from ``jax.eval_shape`` of the init function: it fixes the tree
    structure (including the static apply_fn/tx) and the shapes without allocating anything.
    ``sharding`` places the restored state and best state (``None``: this process's default
    device); the loop arrays come back replicated on the same devices. Always an explicit target,
    never the layout recorded in the save, so a run saved on one mesh resumes on another (or on one
    device), as Orbax reads each shard of the new layout from the saved arrays.
    """
    epoch = mgr.latest_step()
    if epoch is None:
        return None
    target = _as_state_dict(abstract_state)
    if sharding is None:
        sharding = everywhere = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    else:
        everywhere = jax.sharding.NamedSharding(sharding.mesh, jax.sharding.PartitionSpec())
    to_struct = lambda t, where: jax.tree_util.tree_map(  # noqa: E731
        lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=where), t)
    restored = mgr.restore(
        epoch,
        args=ocp.args.Composite(
            state=ocp.args.StandardRestore(to_struct(target, sharding)),
            best=ocp.args.StandardRestore(to_struct(target, sharding)),
            loop=ocp.args.StandardRestore(to_struct(abstract_loop, everywhere)),
            history=ocp.args.JsonRestore(),
        ),
    )
    state = flax.serialization.from_state_dict(abstract_state, restored["state"])
    best = flax.serialization.from_state_dict(abstract_state, restored["best"])
    return epoch, state, best, dict(restored["loop"]), restored["history"]


def restore_best(directory: str) -> dict | None:
    """The stacked best-on-validation state of the latest save in ``directory`` as a plain dict
    (``params``, ``batch_stats``, ... with the leading member axis), or ``None`` without a save.

    Restored without a target (no model, optimiser or init needed): for readers of a finished run,
    such as plots that evaluate the trained members on new inputs.
    """
    if not os.path.isdir(directory):
        return None
    mgr = ocp.CheckpointManager(os.path.abspath(directory), item_names=("best",))
    try:
        step = mgr.latest_step()
        if step is None:
            return None
        return dict(mgr.restore(step, args=ocp.args.Composite(best=ocp.args.StandardRestore()))["best"])
    finally:
        mgr.close()


def restore_best_members(root: str) -> dict | None:
    """Every member's best state of one model trained by ``loop.chunked_fit`` under ``root``
    (``chunk_*`` folders, or one save), joined along the member axis in member order: a dict of
    ``params`` [+ ``batch_stats``] with the leading member axis; ``None`` without a save."""
    chunks = sorted(d for d in os.listdir(root) if d.startswith("chunk_")) if os.path.isdir(root) else []
    parts = [restore_best(os.path.join(root, d)) for d in chunks] if chunks else [restore_best(root)]
    if not parts or any(p is None for p in parts):
        return None
    keep = {k: [p[k] for p in parts] for k in ("params", "batch_stats") if parts[0].get(k)}
    return {k: jax.tree_util.tree_map(lambda *a: np.concatenate(a, axis=0), *v) for k, v in keep.items()}
