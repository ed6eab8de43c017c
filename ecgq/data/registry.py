"""Datasets by name: each loader module registers a :class:`DatasetSpec`; ``load_splits`` runs one.

A dataset is one module under ``ecgq/data/`` ending in ``DATASETS.register(DatasetSpec(...))``:
its tasks, its own config fields with their help, its values for the common fields, and how to
build the splits. ``load_splits`` adds the data-folder checks and the on-disk cache around it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from ecgq.data import cache
from ecgq.data.errors import DataError
from ecgq.data.types import PhysioNetSource, Splits
from ecgq.registry import Registry


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """One dataset: what ``data_config(name)`` holds for it and how its splits are built.

    ``build(cfg, data_dir) -> Splits``; ``source_files(cfg, data_dir)`` lists the files whose
    identity keys the cache (None: generated data, never cached). ``fields`` are this dataset's own
    config fields (defaults; a nested dict becomes a sub-config) and ``docs`` their help;
    ``defaults`` are its values for the common fields of :mod:`ecgq.data.config`.
    """

    name: str
    description: str
    tasks: tuple[str, ...]
    build: Callable[[Any, str], Splits]
    source_files: Callable[[Any, str], list[str]] | None = None
    fields: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    docs: Mapping[str, str] = dataclasses.field(default_factory=dict)
    defaults: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    needs_data_dir: bool = True
    physionet: PhysioNetSource | None = None
    check: Callable[[Any, str], None] | None = None  # cheap pre-flight check of (cfg, data_dir)
    rr_features: bool = False  # its splits carry RR-interval features (Split.rr)
    # Its own fetcher ``download(cfg, data_dir)`` for data.download=True (not PhysioNet: medmnist).
    download: Callable[[Any, str], None] | None = None

    def check_task(self, task: str) -> None:
        if task not in self.tasks:
            raise DataError(f"Unknown task {task!r} for dataset {self.name!r} (--config.data.task); "
                            f"choose one of {list(self.tasks)}.")


DATASETS: Registry[DatasetSpec] = Registry("dataset", "ecgq.data")


def dataset(name: str) -> DatasetSpec:
    """The registered dataset ``name`` (a ``DataError`` naming the valid ones otherwise)."""
    if name not in DATASETS:
        raise DataError(f"Unknown dataset {name!r} (--config.data.name); choose one of {list(DATASETS.names())}.")
    return DATASETS.get(name)


def load_splits(data_cfg) -> Splits:
    """Train/val/test splits for ``data_cfg`` (see ``ecgq.data.config.data_config``)."""
    from ecgq.data.download import ensure_data, resolve_data_dir

    spec = dataset(data_cfg.name)
    spec.check_task(data_cfg.task)
    data_dir = ""
    if spec.needs_data_dir:
        data_dir = resolve_data_dir(data_cfg, spec)
        ensure_data(data_cfg, data_dir, spec)
    if not data_cfg.cache or spec.source_files is None:
        return spec.build(data_cfg, data_dir)
    path = cache.cache_path(data_cfg, spec.source_files(data_cfg, data_dir))
    splits = cache.load(path)
    if splits is None:
        splits = spec.build(data_cfg, data_dir)
        cache.save(path, splits)
    return splits
