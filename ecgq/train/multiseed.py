"""N seeds (times KD settings) of one model trained together along a member axis.

The member axis is one jitted, vmapped program on accelerators and a loop of jitted single-member
steps on CPU (:func:`resolve_member_axis` says why); the state is stacked along it either way.
A *member* is one lane of the member axis: a seed plus a (temperature, alpha) pair. Every member
gets its own init and dropout keys from its seed, so the same seed under different KD settings
starts from the same weights (paired comparisons). Temperatures and alphas are arrays along the
member axis, which makes a T x alpha x seeds grid a single run. ``alpha = 0`` is exactly
cross-entropy, so the no-KD baseline trains alongside the KD settings.

When the member axis would not fit in memory it is cut into chunks that run one after another
(``plan_chunks``); members are independent, so chunking never changes a result.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jax.sharding import Mesh

from ecgq.train import sharding
from ecgq.train.config import MEMBER_AXES
from ecgq.train.state import TrainState


@dataclasses.dataclass(frozen=True)
class Member:
    """One lane of the vmapped axis. ``kd=False`` members train with alpha = 0 (pure CE)."""

    seed: int
    temperature: float = 1.0
    alpha: float = 0.0
    kd: bool = False


def member_grid(seeds: Sequence[int], temperatures: Sequence[float], alphas: Sequence[float],
                include_no_kd: bool) -> list[Member]:
    """Members ordered setting-major: [no-KD seeds..., (T0, a0) seeds..., (T0, a1) seeds..., ...]."""
    members = [Member(s) for s in seeds] if include_no_kd else []
    for t in temperatures:
        for a in alphas:
            members.extend(Member(s, float(t), float(a), kd=True) for s in seeds)
    return members


def member_index(members: Sequence[Member], seed: int, temperature=None, alpha=None, kd: bool = False) -> int | None:
    """Position of the member (seed, KD setting) in ``members`` (``None`` when absent)."""
    for i, m in enumerate(members):
        if m.seed == seed and m.kd == kd and (not kd or (m.temperature == temperature and m.alpha == alpha)):
            return i
    return None


def hparams_of(members: Sequence[Member]) -> dict[str, jax.Array]:
    """Per-member temperature and alpha arrays (leading axis = members)."""
    return {
        "temperature": jnp.asarray([m.temperature for m in members], jnp.float32),
        "alpha": jnp.asarray([m.alpha if m.kd else 0.0 for m in members], jnp.float32),
    }


def overwrite(params, replacement):
    """``params`` with every subtree present in ``replacement`` (nested dicts) replaced by it."""
    if not isinstance(replacement, dict):
        return replacement
    out = dict(params)
    for key, value in replacement.items():
        if key not in out:
            raise KeyError(f"initial parameters name {key!r}, which the model does not have")
        out[key] = overwrite(out[key], value)
    return out


def make_init_fn(model, tx: optax.GradientTransformation, sample: dict, init_params=None) -> Callable:
    """``init(keys) -> stacked TrainState``: vmapped initialisation from per-member seed keys.

    ``sample`` is a batch with the input shapes (its values are ignored). The seed key is split into
    an init key and a dropout key, so init and dropout streams are independent. ``init_params``
    (nested dicts with a leading member axis) overwrite the matching parameter subtrees before
    the optimiser state is created: a pretrained teacher backbone or autoencoder.
    """
    x = jnp.zeros((1,) + tuple(sample["x"].shape[1:]), jnp.float32)
    rr = None if sample.get("rr") is None else jnp.zeros((1,) + tuple(sample["rr"].shape[1:]), jnp.float32)

    def init_one(key, replacement):
        init_key, dropout_key = jax.random.split(key)
        variables = dict(model.init({"params": init_key, "dropout": init_key}, x, rr, train=False))
        if replacement is not None:
            variables["params"] = overwrite(variables["params"], replacement)
        return TrainState.from_variables(apply_fn=model.apply, variables=variables, tx=tx,
                                         dropout_key=dropout_key)

    init = jax.jit(jax.vmap(init_one))
    return lambda keys: init(keys, init_params)


def resolve_member_axis(member_axis: str = "auto", backend: str | None = None, sharded: bool = False) -> str:
    """``"vmap"`` or ``"loop"``: how the members of one chunk share the device.

    ``"auto"`` loops on CPU and vmaps elsewhere. Why: XLA:CPU turns a convolution vmapped over
    the member axis (a kernel per member) into a grouped convolution far off its fast path, so one
    vmapped step of 8 members costs more than 8 single-member steps. ``experiments/bench_train_step.py``
    measures it (vmap/loop, 8 members, batch 256, on the 2-core CPU of issue 9: 1.6-2.5 for the
    conv students, 1.3 for nisq_vqc). The exception is nisq_mlp (248 parameters, a step of a few
    dispatches), where the loop's dispatches cost more than the arithmetic (vmap/loop 0.5, a
    few milliseconds per step where the conv students gain hundreds). On an accelerator the
    vmapped program keeps the device busy where one member alone would not, which is what the
    member axis is for.

    A fixed rule rather than a timing taken at run time: looped and vmapped members agree to float
    rounding (about 1e-7), not bit for bit, so a choice that followed the machine's load could
    change a rerun's (or a resumed run's) numbers.

    ``sharded`` (a mesh of several devices, ``ecgq.train.sharding``): always ``"vmap"``. The loop
    runs one member at a time, so there is no member axis left to split over devices, and each
    device's slice of the vmapped program is what keeps it busy; ``"loop"`` is refused.
    """
    if member_axis not in MEMBER_AXES:
        raise ValueError(f"member_axis must be one of {MEMBER_AXES}, got {member_axis!r}")
    if sharded:
        if member_axis == "loop":
            raise ValueError("member_axis='loop' cannot be sharded: a mesh of several devices splits the vmapped "
                             "member axis; use 'auto' or 'vmap', or a one-device mesh (mesh.members=1, mesh.data=1)")
        return "vmap"
    if member_axis != "auto":
        return member_axis
    return "loop" if (backend or jax.default_backend()) == "cpu" else "vmap"


def seed_keys(members: Sequence[Member]) -> jax.Array:
    """Raw uint32 PRNG keys, one per member (raw keys checkpoint as plain arrays)."""
    return jnp.stack([jax.random.PRNGKey(m.seed) for m in members])


def make_multi_step(train_step: Callable, per_member_order: bool, member_axis: str = "auto",
                    mesh: Mesh | None = None) -> Callable:
    """``run(state, hparams, idx, data) -> (state, losses)``: K steps for every member.

    ``idx`` holds batch indices into ``data``: ``(K, B)`` when the data order is shared, or
    ``(members, K, B)`` per member. ``data`` (the training split on device) is shared by all
    members and never copied per member; the batch gather happens inside the jitted step. The
    state is donated, so its memory is reused step to step.

    ``member_axis`` (see :func:`resolve_member_axis`): ``"vmap"`` runs all members as one vmapped
    program per step; ``"loop"`` splits the stacked state into members once per call, runs the
    K steps of each member with the plain jitted single-member step, and stacks the members again
    (so checkpoints, model selection and chunking see the same stacked pytree either way). Both
    give each member its own keys, hparams and batches, so a member trains the same in both.

    Each step is one jitted call driven from Python rather than a ``lax.scan`` over K steps: on
    XLA:CPU, convolutions inside a while-loop body fall off the fast path (an order of magnitude
    slower per step for vmapped resnet1d seeds), while a dispatch costs well under a millisecond.

    ``mesh`` (``ecgq.train.sharding``): the state and hparams arrive split over the ``members``
    devices (their member count a multiple of that axis), ``data`` replicated, ``idx`` replicated
    or split with the members; each device runs the vmapped step on its own members
    (``sharding.over_members``), each member's batch is split over the ``data`` devices, and the
    losses come back replicated so that every process can read them.
    """
    axis = resolve_member_axis(member_axis, sharded=mesh is not None)

    def one_member(state, hparams, ids, data):
        batch = {k: v[ids] for k, v in data.items()}
        if mesh is not None:
            batch = jax.lax.with_sharding_constraint(batch, sharding.batch_spec())
        state, metrics = train_step(state, batch, hparams)
        return state, metrics["loss"]

    if axis == "vmap":
        in_axes = (0, 0, 0 if per_member_order else None, None)
        if mesh is None:
            step = jax.jit(jax.vmap(one_member, in_axes=in_axes), donate_argnums=(0,))
        else:
            step = jax.jit(sharding.over_members(jax.vmap(one_member, in_axes=in_axes), mesh, in_axes),
                           out_shardings=(sharding.member_sharding(mesh), sharding.replicated(mesh)),
                           donate_argnums=(0,))

        def run(state, hparams, idx, data):
            losses = []
            for k in range(idx.shape[-2]):
                state, loss = step(state, hparams, idx[..., k, :], data)
                losses.append(loss)
            return state, jnp.stack(losses, axis=-1)

        return run

    step = jax.jit(one_member, donate_argnums=(0,))

    def run(state, hparams, idx, data):
        n_members = jax.tree_util.tree_leaves(hparams)[0].shape[0]
        states, member_hparams = unstack(state, n_members), unstack(hparams, n_members)
        idx = np.asarray(idx)
        losses = []
        for i in range(n_members):
            ids, member_losses = (idx[i] if per_member_order else idx), []
            for k in range(ids.shape[0]):
                states[i], loss = step(states[i], member_hparams[i], ids[k], data)
                member_losses.append(loss)
            losses.append(jnp.stack(member_losses))
        return stack(states), jnp.stack(losses)

    return run


@functools.partial(jax.jit, static_argnums=1)
def unstack(tree, n: int) -> list:
    """``[member 0, ..., member n-1]`` of a pytree with a leading member axis (one dispatch)."""
    return [jax.tree_util.tree_map(lambda a, i=i: a[i], tree) for i in range(n)]


@jax.jit
def stack(trees: list):
    """The inverse of :func:`unstack`."""
    return jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *trees)


def _member(tree, i):
    return jax.tree_util.tree_map(lambda a: a[i], tree)


def make_multi_eval(eval_step: Callable, member_axis: str = "auto", mesh: Mesh | None = None) -> Callable:
    """``eval(state, batch) -> logits (members, batch, outputs)``; the batch is shared.

    ``member_axis`` as in :func:`make_multi_step`: one vmapped program, or one jitted
    single-member program per member (reading member ``i`` out of the stacked state).
    ``mesh``: the state split over the ``members`` devices (as in :func:`make_multi_step`), the
    batch over the ``data`` devices where they divide it, the logits replicated.
    """
    if mesh is not None:
        def split_batch(state, batch):
            if jax.tree_util.tree_leaves(batch)[0].shape[0] % sharding.data_devices(mesh) == 0:
                batch = jax.lax.with_sharding_constraint(batch, sharding.batch_spec())
            return eval_step(state, batch)

        resolve_member_axis(member_axis, sharded=True)
        return jax.jit(sharding.over_members(jax.vmap(split_batch, in_axes=(0, None)), mesh, (0, None)),
                       out_shardings=sharding.replicated(mesh))
    if resolve_member_axis(member_axis) == "vmap":
        return jax.jit(jax.vmap(eval_step, in_axes=(0, None)))
    member_eval = jax.jit(lambda state, i, batch: eval_step(_member(state, i), batch))

    def multi_eval(state, batch):
        n_members = jax.tree_util.tree_leaves(state.params)[0].shape[0]
        return jnp.stack([member_eval(state, np.int32(i), batch) for i in range(n_members)])

    return multi_eval


def predict(multi_eval: Callable, state: TrainState, data: dict[str, np.ndarray], batch_size: int) -> np.ndarray:
    """Logits of every member on a whole split, in fixed-size padded batches (one compile)."""
    n = len(data["x"])
    batch_size = max(1, min(batch_size, n))
    outputs = []
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        batch = {}
        for key, value in data.items():
            chunk = value[start:stop]
            if stop - start < batch_size:
                pad = [(0, batch_size - (stop - start))] + [(0, 0)] * (chunk.ndim - 1)
                chunk = np.pad(chunk, pad)
            batch[key] = chunk
        outputs.append(np.asarray(multi_eval(state, batch))[:, : stop - start])
    return np.concatenate(outputs, axis=1)


# ----------------------------------------------------------------------------------------------
# Memory-aware chunking


def _itemsize(dtype) -> int:
    try:
        return np.dtype(dtype).itemsize
    except TypeError:  # extended dtypes (typed PRNG keys): two uint32 words
        return 8


def _tree_bytes(tree) -> int:
    return sum(math.prod(leaf.shape) * _itemsize(leaf.dtype) for leaf in jax.tree_util.tree_leaves(tree))


def _jaxpr_value_bytes(jaxpr) -> int:
    """Sum of the sizes of every value a jaxpr produces, sub-jaxprs included (an upper bound on
    the activations a backward pass could keep alive)."""
    total = 0
    for eqn in jaxpr.eqns:
        for var in eqn.outvars:
            aval = var.aval
            if hasattr(aval, "shape") and hasattr(aval, "dtype"):
                total += math.prod(aval.shape) * _itemsize(aval.dtype)
        for param in eqn.params.values():
            sub = getattr(param, "jaxpr", None)
            if sub is not None and hasattr(sub, "eqns"):
                total += _jaxpr_value_bytes(sub)
            elif hasattr(param, "eqns"):
                total += _jaxpr_value_bytes(param)
    return total


def bytes_per_member(train_step: Callable, abstract_state, abstract_batch, abstract_hparams) -> int:
    """Estimated device memory of one member: state twice (old + new), plus gradients, plus every
    intermediate of one training step. Traced only (``make_jaxpr``), never compiled."""
    jaxpr = jax.make_jaxpr(train_step)(abstract_state, abstract_batch, abstract_hparams)
    return 3 * _tree_bytes(abstract_state) + _jaxpr_value_bytes(jaxpr.jaxpr)


def available_bytes() -> int:
    """Free memory of the default device: accelerator allocator limit, else free host RAM."""
    device = jax.devices()[0]
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    if stats and "bytes_limit" in stats:
        return int(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def plan_chunks(n_members: int, member_bytes: int, budget_bytes: int, max_per_chunk: int = 0) -> list[range]:
    """Split ``range(n_members)`` into near-equal consecutive chunks that each fit the budget."""
    cap = max(1, budget_bytes // max(1, member_bytes))
    if max_per_chunk > 0:
        cap = min(cap, max_per_chunk)
    cap = min(cap, n_members)
    n_chunks = math.ceil(n_members / cap)
    size = math.ceil(n_members / n_chunks)
    return [range(i, min(i + size, n_members)) for i in range(0, n_members, size)]


def select_members(mask: jax.Array, new, old):
    """Per member, ``new`` where ``mask`` else ``old`` (used to keep best-on-validation states)."""

    def choose(n, o):
        m = mask.reshape((-1,) + (1,) * (n.ndim - 1))
        return jnp.where(m, n, o)

    return jax.tree_util.tree_map(choose, new, old)


def member_variables(state, index: int) -> dict:
    """The Flax variables (``params`` [+ ``batch_stats``]) of member ``index`` of a stacked state,
    as ``module.apply`` takes them."""
    variables = {"params": jax.tree_util.tree_map(lambda a: a[index], state.params)}
    if state.batch_stats:
        variables["batch_stats"] = jax.tree_util.tree_map(lambda a: a[index], state.batch_stats)
    return variables
