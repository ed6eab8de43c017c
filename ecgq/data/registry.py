"""``load_splits``: dataset name -> loader, with data-folder checks and the on-disk cache around it.

Loaders are imported lazily (module ``ecgq.data.<name>``), each exposing ``build(cfg, data_dir)``
and ``source_files(cfg, data_dir)``; synthetic data is generated in about a second and not cached.
"""

from __future__ import annotations

import importlib

from ecgq.data import cache
from ecgq.data.config import check_task
from ecgq.data.download import ensure_data, resolve_data_dir
from ecgq.data.types import Splits

LOADERS = {"mitbih": "ecgq.data.mitbih", "ptbxl": "ecgq.data.ptbxl",
           "wfdb_folder": "ecgq.data.wfdb_folder"}


def load_splits(data_cfg) -> Splits:
    """Train/val/test splits for ``data_cfg`` (see ``ecgq.data.config.data_config``)."""
    check_task(data_cfg.name, data_cfg.task)
    if data_cfg.name == "synthetic":
        from ecgq.data import synthetic

        return synthetic.load(data_cfg)
    data_dir = resolve_data_dir(data_cfg)
    ensure_data(data_cfg, data_dir)
    loader = importlib.import_module(LOADERS[data_cfg.name])
    if not data_cfg.cache:
        return loader.build(data_cfg, data_dir)
    path = cache.cache_path(data_cfg, loader.source_files(data_cfg, data_dir))
    splits = cache.load(path)
    if splits is None:
        splits = loader.build(data_cfg, data_dir)
        cache.save(path, splits)
    return splits
