"""Session-scoped loads so each real dataset is processed once per test run (CI has 2 cores)."""

from __future__ import annotations

import pytest

from ecgq.data import load_splits
from ecgq.data.config import data_config


@pytest.fixture(scope="session")
def data_cache_dir(tmp_path_factory):
    """A private cache folder: tests never read or write the user's ~/.cache/ecgq."""
    return str(tmp_path_factory.mktemp("ecgq_cache"))


@pytest.fixture(scope="session")
def mitbih_cfg(mitdb_dir, data_cache_dir):
    cfg = data_config("mitbih")
    cfg.data_dir = str(mitdb_dir)
    cfg.cache_dir = data_cache_dir
    return cfg


@pytest.fixture(scope="session")
def mitbih_splits(mitbih_cfg):
    return load_splits(mitbih_cfg)


@pytest.fixture(scope="session")
def ptbxl_cfg(ptbxl_dir, data_cache_dir):
    cfg = data_config("ptbxl")
    cfg.data_dir = str(ptbxl_dir)
    cfg.cache_dir = data_cache_dir
    return cfg


@pytest.fixture(scope="session")
def ptbxl_splits(ptbxl_cfg):
    return load_splits(ptbxl_cfg)
