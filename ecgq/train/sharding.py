"""Where the members and the batch of a training run live: a ``jax.sharding.Mesh`` of two axes.

``members`` spreads the stacked member axis (seeds x KD settings, see ``multiseed``) over devices:
each device holds and trains its own slice of the members, so a T x alpha x seeds grid that runs
in chunks on one device runs at once on several. ``data`` splits every training and evaluation
batch over devices, with the gradients summed across them by XLA (GSPMD): the way to use several
devices for a single member (a teacher). The training split itself is replicated, since the batch
is gathered from it inside the jitted step.

The mesh is built from ``config.mesh`` (:func:`ecgq.train.config.mesh_config`) over
``jax.devices()``, which after ``jax.distributed.initialize`` are the devices of every host, so
the same code runs on one device, on the GPUs of one node, and across nodes (one process each).
A mesh of one device is no mesh (``None``): single-device runs take exactly the code path, and
give exactly the numbers, they gave before sharding existed.

Placement uses JAX's own primitives only: ``shard_map`` over the member axis (each device runs
the vmapped step on its own members, :func:`over_members` says why), ``NamedSharding`` for the
jitted steps' outputs, ``with_sharding_constraint`` for the batch along ``data``, and
``jax.make_array_from_callback`` to place host values (it also works when a sharding spans
devices of other processes, where ``jnp.asarray`` could not).

A member count the member axis does not divide is padded with copies of the last member
(:func:`pad_members`): the copies train exactly as that member does, and are dropped from every
output, every history and every checkpoint, so padding never changes a result and a checkpoint
holds the real members only (which is what lets a run resume on another device count).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, TypeVar

import jax
import ml_collections
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

from ecgq.errors import ConfigError

MEMBERS, DATA = "members", "data"
T = TypeVar("T")


def make_mesh(cfg: ml_collections.ConfigDict | None, devices: Sequence[Any] | None = None,
              where: str = "mesh") -> Mesh | None:
    """The ``(members, data)`` mesh of ``cfg`` over ``devices`` (default: every device of every
    process), or ``None`` when it holds a single device (or ``cfg`` is ``None``).

    ``cfg.members = 0`` takes every device that ``cfg.data`` leaves; a mesh smaller than the
    device count uses the first devices. Axes are ``AxisType.Auto``: GSPMD propagates the shardings
    set at the step's inputs and outputs, so the model code knows nothing of the mesh.
    """
    if cfg is None:
        return None
    devices = list(jax.devices() if devices is None else devices)
    data, members = int(cfg.data), int(cfg.members)
    if data > len(devices):
        raise ConfigError(f"--config.{where}.data={data} exceeds the {len(devices)} device(s) this run sees.")
    members = members or len(devices) // data
    if members * data > len(devices):
        raise ConfigError(f"--config.{where}.members={members} x --config.{where}.data={data} = "
                          f"{members * data} devices, but this run sees {len(devices)}; lower them "
                          "(members=0 takes all the devices that data leaves).")
    if members * data == 1:
        return None
    return jax.make_mesh((members, data), (MEMBERS, DATA), axis_types=(AxisType.Auto,) * 2,
                         devices=devices[: members * data])


def member_devices(mesh: Mesh | None) -> int:
    """Size of the mesh's member axis (1 without a mesh)."""
    return 1 if mesh is None else int(mesh.shape[MEMBERS])


def data_devices(mesh: Mesh | None) -> int:
    """Size of the mesh's data axis (1 without a mesh)."""
    return 1 if mesh is None else int(mesh.shape[DATA])


def lanes(n_members: int, mesh: Mesh | None) -> int:
    """Lanes of the member axis: ``n_members`` rounded up to a multiple of the member devices."""
    m = member_devices(mesh)
    return math.ceil(n_members / m) * m


def pad_members(members: Sequence[T], mesh: Mesh | None) -> list[T]:
    """``members`` plus copies of the last one up to :func:`lanes` (identical lanes: same seed,
    keys, hyperparameters and batches, so a copy trains exactly as the member it copies)."""
    members = list(members)
    return members + [members[-1]] * (lanes(len(members), mesh) - len(members))


def pad_rows(a: np.ndarray, n_lanes: int) -> np.ndarray:
    """A host array with a leading member axis, padded to ``n_lanes`` rows by repeating its last."""
    a = np.asarray(a)
    return a if len(a) == n_lanes else np.concatenate([a, np.repeat(a[-1:], n_lanes - len(a), axis=0)])


def member_sharding(mesh: Mesh) -> NamedSharding:
    """Leading (member) axis split over the ``members`` devices, replicated along ``data``."""
    return NamedSharding(mesh, PartitionSpec(MEMBERS))


def replicated(mesh: Mesh) -> NamedSharding:
    """A full copy on every device of the mesh (what every process can read back)."""
    return NamedSharding(mesh, PartitionSpec())


def batch_spec() -> PartitionSpec:
    """Sharding of one member's batch inside the vmapped step: samples split over ``data``."""
    return PartitionSpec(DATA)


def over_members(fn, mesh: Mesh, in_axes: Sequence[int | None]):
    """``fn`` (vmapped over the members) run by every device on its own slice of the members.

    ``in_axes`` as given to ``vmap``: 0 = split with the members, ``None`` = the same on every
    device. Every output has a leading member axis. ``shard_map`` over the ``members`` axis only:
    the ``data`` axis stays with GSPMD (``axis_names``), which splits each member's batch where the
    step says so (:func:`batch_spec`) and sums the gradients across it.

    Why not GSPMD for the member axis too (``vmap(spmd_axis_name=...)``): it partitions the
    vmapped convolutions themselves, and for the grouped convolutions of ``ecgfounder_small``
    (vmapped: feature groups x members) that changed the training, not just its rounding (after one
    epoch a loss of 1.41 against 1.32 on one device, 2 members on 2 forced CPU devices). Here each
    device runs the one-device program on its members, so a member trains as it does alone.
    """
    specs = tuple(PartitionSpec(MEMBERS) if axis == 0 else PartitionSpec() for axis in in_axes)
    return jax.shard_map(fn, mesh=mesh, in_specs=specs, out_specs=PartitionSpec(MEMBERS),
                         axis_names=frozenset({MEMBERS}))


def put(tree, sharding: NamedSharding):
    """Every leaf of a pytree of host (or single-device) arrays placed with ``sharding``.

    Every process must hold the same values (they come from the same seeds and data): each fills
    the shards of its own devices (``jax.make_array_from_callback``).
    """
    def place(leaf):
        host = np.asarray(leaf)
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    return jax.tree_util.tree_map(place, tree)


def gather_members(tree, n_members: int, mesh: Mesh):
    """The first ``n_members`` lanes of a member-sharded pytree, replicated on every device.

    What a checkpoint of a padded run saves and what a run hands back to the caller: replicated
    arrays can be read by every process (``np.asarray``), and their shape is the real member count.
    """
    return _taker(n_members, mesh)(tree)


@functools.lru_cache(maxsize=None)
def _taker(n_members: int, mesh: Mesh):
    """One jitted slice per (member count, mesh): a padded run saves every epoch without recompiling."""
    return jax.jit(lambda t: jax.tree_util.tree_map(lambda a: a[:n_members], t), out_shardings=replicated(mesh))


def spread_members(tree, n_lanes: int, mesh: Mesh):
    """A pytree with a leading member axis, readable by this process (on one device, or replicated),
    padded to ``n_lanes`` by repeating the last member and split over the member devices: the
    inverse of :func:`gather_members`. Through the host, so it also works across processes."""
    return put(jax.tree_util.tree_map(lambda a: pad_rows(a, n_lanes), tree), member_sharding(mesh))


def to_default_device(tree):
    """A replicated (or single-device) pytree as plain arrays on this process's default device:
    after training, model selection and reporting run on one device exactly as without a mesh."""
    return jax.device_put(jax.device_get(tree))


def describe(mesh: Mesh | None) -> str:
    """One line for logs and reports."""
    if mesh is None:
        return f"1 device ({jax.devices()[0].platform})"
    return (f"mesh members={member_devices(mesh)} x data={data_devices(mesh)} over {mesh.devices.size} "
            f"{mesh.devices.flat[0].platform} device(s), {jax.process_count()} process(es)")


__all__ = [
    "DATA", "MEMBERS", "batch_spec", "data_devices", "describe", "gather_members", "lanes", "make_mesh",
    "member_devices", "member_sharding", "over_members", "pad_members", "pad_rows", "put", "replicated", "spread_members",
    "to_default_device",
]
