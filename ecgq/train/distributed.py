"""Several hosts as one JAX runtime: ``jax.distributed.initialize`` from launch flags or environment.

One process per host (each sees its own GPUs), all started with the same command and the same
coordinator address; process 0 hosts the coordinator. After ``initialize``, ``jax.devices()``
lists the devices of every process, so ``config.mesh`` (``ecgq.train.sharding``) spreads the
members and batches over all hosts, and Orbax writes each process's shards of a checkpoint (the
workdir must be on a filesystem every host sees). Reports and stage records are written by process 0
only (:func:`is_primary`).

Each setting comes from its flag, else from its ``ECGQ_*`` environment variable (the coordinator
address also from JAX's own ``JAX_COORDINATOR_ADDRESS``). With none set the run is a single
process and nothing is initialised; ``--distributed`` alone lets JAX detect the cluster (SLURM,
Open MPI, Cloud TPU) and fill in all three.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from ecgq.errors import UserError

ENVIRONMENT = {
    "coordinator_address": ("ECGQ_COORDINATOR_ADDRESS", "JAX_COORDINATOR_ADDRESS"),
    "num_processes": ("ECGQ_NUM_PROCESSES",),
    "process_id": ("ECGQ_PROCESS_ID",),
}


@dataclasses.dataclass(frozen=True)
class Settings:
    """What ``jax.distributed.initialize`` gets; ``None`` fields are left to JAX's cluster detection."""

    coordinator_address: str | None = None
    num_processes: int | None = None
    process_id: int | None = None


def settings_from(flags: Mapping[str, object], environ: Mapping[str, str], auto: bool = False) -> Settings | None:
    """The distributed settings of a launch, or ``None`` for a single process.

    ``flags`` maps ``coordinator_address``, ``num_processes`` and ``process_id`` to the flag values
    (``None`` / ``''`` when unset); an unset flag falls back to its environment variable. ``auto``
    (``--distributed``) initialises even when nothing is set. Errors name the flag or variable.
    """
    values: dict[str, object] = {}
    source: dict[str, str] = {}
    for field, variables in ENVIRONMENT.items():
        value = flags.get(field)
        source[field] = f"--{field}"
        if value in (None, ""):
            value = None
            for variable in variables:
                if environ.get(variable, "") != "":
                    value, source[field] = environ[variable], variable
                    break
        values[field] = value
    if not auto and all(v is None for v in values.values()):
        return None
    for field in ("num_processes", "process_id"):
        if values[field] is not None:
            try:
                values[field] = int(values[field])
            except (TypeError, ValueError):
                raise UserError(f"{source[field]}={values[field]!r} is not an integer.") from None
    n, i = values["num_processes"], values["process_id"]
    if n is not None and n < 1:
        raise UserError(f"{source['num_processes']}={n}: must be >= 1 (one process per host).")
    if i is not None and (i < 0 or (n is not None and i >= n)):
        raise UserError(f"{source['process_id']}={i}: must be in [0, {n}) (process 0 hosts the coordinator)."
                        if n is not None else f"{source['process_id']}={i}: must be >= 0.")
    address = values["coordinator_address"]
    if address is not None and ":" not in str(address):
        raise UserError(f"{source['coordinator_address']}={address!r}: give host:port of process 0 (e.g. node0:1234).")
    return Settings(None if address is None else str(address), n, i)


def initialize(settings: Settings | None) -> None:
    """``jax.distributed.initialize`` with ``settings`` (nothing for ``None``); before any device use."""
    if settings is None:
        return
    import jax

    jax.distributed.initialize(coordinator_address=settings.coordinator_address,
                               num_processes=settings.num_processes, process_id=settings.process_id)


def is_primary() -> bool:
    """Process 0 (the only process of a single-host run): the one that writes reports."""
    import jax

    return jax.process_index() == 0


__all__ = ["ENVIRONMENT", "Settings", "initialize", "is_primary", "settings_from"]
