"""Cache hits, misses on config or source change, and atomic writes."""

from __future__ import annotations

import os

import numpy as np
import pytest
import wfdb

from ecgq.data import cache, load_splits, wfdb_folder
from ecgq.data.config import data_config


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["record,label,split"]
    for i in range(6):
        wfdb.wrsamp(f"s{i}", fs=250, units=["mV"], sig_name=["II"], p_signal=rng.normal(size=(500, 1)),
                    fmt=["16"], write_dir=str(tmp_path))
        rows.append(f"s{i},{'ab'[i % 2]},{['train', 'val', 'test'][i // 2]}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    cfg = data_config("wfdb_folder")
    cfg.data_dir, cfg.cache_dir = str(tmp_path), str(tmp_path / "cache")
    return cfg


def _count_builds(monkeypatch):
    calls = []
    real = wfdb_folder.build
    monkeypatch.setattr(wfdb_folder, "build", lambda *a: calls.append(1) or real(*a))
    return calls


def test_hit_then_miss_on_config_and_source_change(folder, monkeypatch):
    calls = _count_builds(monkeypatch)
    first = load_splits(folder)
    second = load_splits(folder)
    assert len(calls) == 1  # second load came from disk
    np.testing.assert_array_equal(first.train.x, second.train.x)
    np.testing.assert_array_equal(first.test.record, second.test.record)
    assert second.info == first.info
    folder.crop_length = 250
    load_splits(folder)
    assert len(calls) == 2  # config change -> new key
    path = os.path.join(folder.data_dir, "s0.dat")
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    load_splits(folder)
    assert len(calls) == 3  # source file touched -> new key


def test_cache_disabled_writes_nothing(folder):
    folder.cache = False
    load_splits(folder)
    assert not os.path.exists(folder.cache_dir)


def test_crash_mid_write_leaves_nothing(folder, monkeypatch):
    def exploding_savez(f, **arrays):
        f.write(b"partial bytes")
        raise KeyboardInterrupt("simulated crash")

    monkeypatch.setattr(np, "savez", exploding_savez)
    with pytest.raises(KeyboardInterrupt):
        load_splits(folder)
    assert os.listdir(folder.cache_dir) == []
    monkeypatch.undo()
    load_splits(folder)
    names = os.listdir(folder.cache_dir)
    assert len(names) == 1 and names[0].endswith(".npz") and not names[0].startswith(".tmp")


def test_unreadable_entry_is_rebuilt(folder, monkeypatch):
    load_splits(folder)
    [name] = os.listdir(folder.cache_dir)
    with open(os.path.join(folder.cache_dir, name), "wb") as f:
        f.write(b"not an npz")
    calls = _count_builds(monkeypatch)
    assert len(load_splits(folder).train) == 2 and len(calls) == 1


def test_cache_dir_from_environment(folder, monkeypatch, tmp_path):
    folder.cache_dir = ""
    monkeypatch.setenv("ECGQ_CACHE", str(tmp_path / "env_cache"))
    assert cache.cache_dir(folder) == str(tmp_path / "env_cache")
