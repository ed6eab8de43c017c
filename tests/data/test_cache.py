"""Cache hits, misses on config or source change, and atomic writes."""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import os

import numpy as np
import pytest
import wfdb

from ecgq.atomic import TMP_PREFIX
from ecgq.data import cache, load_splits
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
    """One entry per build behind the cache (a cache miss), however the loader is registered."""
    calls = []
    real = cache.load
    monkeypatch.setattr(cache, "load", lambda path: real(path) or calls.append(1))
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
    assert len(names) == 1 and names[0].endswith(".npz") and not names[0].startswith(TMP_PREFIX)


def test_unreadable_entry_is_rebuilt(folder, monkeypatch, caplog):
    load_splits(folder)
    [name] = os.listdir(folder.cache_dir)
    path = os.path.join(folder.cache_dir, name)
    with open(path, "wb") as f:
        f.write(b"not an npz")
    calls = _count_builds(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="ecgq.data"):
        assert len(load_splits(folder).train) == 2 and len(calls) == 1
    assert any(path in r.getMessage() and "unreadable" in r.getMessage() for r in caplog.records)
    assert len(load_splits(folder).train) == 2 and len(calls) == 1  # the rebuilt entry is served


def _rewrite_info(path, edit):
    """Rewrite the ``info`` JSON of the cache entry at ``path`` through ``edit(meta)``."""
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["info"]))
    edit(meta)
    arrays["info"] = np.array(json.dumps(meta))
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def test_entry_with_broken_metadata_is_a_miss_not_a_crash(folder, monkeypatch, caplog):
    load_splits(folder)
    [name] = os.listdir(folder.cache_dir)
    _rewrite_info(os.path.join(folder.cache_dir, name), lambda meta: meta.pop("class_names"))
    calls = _count_builds(monkeypatch)
    with caplog.at_level(logging.WARNING, logger="ecgq.data"):
        s = load_splits(folder)
    assert len(calls) == 1 and s.info.class_names == ("a", "b")
    assert any(name in r.getMessage() and "class_names" in r.getMessage() for r in caplog.records)


def test_skipped_names_round_trip_and_old_entries_load(folder, monkeypatch):
    with open(os.path.join(folder.data_dir, "labels.csv"), "a") as f:
        f.write("gone,a,test\n")
    folder.skip_bad_records = True
    calls = _count_builds(monkeypatch)
    first = load_splits(folder)
    second = load_splits(folder)
    assert len(calls) == 1  # second load came from disk
    assert first.info.skipped == {"train": {}, "val": {}, "test": {"missing_record": ["gone"]}}
    assert second.info == first.info
    # An entry written before DatasetInfo.skipped existed (no "skipped" in its info) still loads.
    [name] = os.listdir(folder.cache_dir)
    path = os.path.join(folder.cache_dir, name)
    _rewrite_info(path, lambda meta: meta.pop("skipped"))
    old = cache.load(path)
    assert old.info.skipped == {}
    assert dataclasses.replace(old.info, skipped=first.info.skipped) == first.info
    np.testing.assert_array_equal(old.test.record, first.test.record)


def _assert_cache_warning(caplog, folder_path):
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(folder_path in m and "data.cache_dir" in m and "$ECGQ_CACHE" in m and "data.cache=False" in m
               for m in messages), messages


def test_unwritable_cache_dir_warns_and_goes_on(folder, monkeypatch, caplog):
    os.makedirs(folder.cache_dir)
    os.chmod(folder.cache_dir, 0o500)
    try:
        probe = os.path.join(folder.cache_dir, "probe")
        try:
            open(probe, "wb").close()  # root ignores the mode: simulate the failing write instead
            os.remove(probe)

            def refuse(path, write):
                raise PermissionError(errno.EACCES, "Permission denied", path)

            monkeypatch.setattr(cache, "write_atomic", refuse)
        except PermissionError:
            pass
        with caplog.at_level(logging.WARNING, logger="ecgq.data"):
            s = load_splits(folder)
        assert len(s.train) == 2 and s.info.class_names == ("a", "b")
        assert os.listdir(folder.cache_dir) == []
    finally:
        os.chmod(folder.cache_dir, 0o700)
    _assert_cache_warning(caplog, os.path.abspath(folder.cache_dir))


def test_full_disk_warns_and_leaves_no_partial_file(folder, monkeypatch, caplog):
    def full_disk(f, **arrays):
        f.write(b"partial bytes")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    with caplog.at_level(logging.WARNING, logger="ecgq.data"):
        s = load_splits(folder)
    assert len(s.train) == 2
    assert os.listdir(folder.cache_dir) == []  # neither the entry nor its temporary file
    _assert_cache_warning(caplog, os.path.abspath(folder.cache_dir))
    assert any("No space left" in r.getMessage() for r in caplog.records)
    monkeypatch.undo()
    load_splits(folder)
    [name] = os.listdir(folder.cache_dir)
    assert name.endswith(".npz") and not name.startswith(TMP_PREFIX)


def test_cache_folder_that_cannot_be_created_warns_and_goes_on(folder, tmp_path, caplog):
    (tmp_path / "a_file").write_text("")
    folder.cache_dir = str(tmp_path / "a_file" / "cache")  # makedirs fails (NotADirectoryError)
    with caplog.at_level(logging.WARNING, logger="ecgq.data"):
        s = load_splits(folder)
    assert len(s.test) == 2
    _assert_cache_warning(caplog, folder.cache_dir)


def test_cache_dir_from_environment(folder, monkeypatch, tmp_path):
    folder.cache_dir = ""
    monkeypatch.setenv("ECGQ_CACHE", str(tmp_path / "env_cache"))
    assert cache.cache_dir(folder) == str(tmp_path / "env_cache")
