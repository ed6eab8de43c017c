"""Every bad-input path gives one DataError naming the item and the fix (or a counted skip)."""

from __future__ import annotations

import os
import pathlib

import numpy as np
import pytest
import wfdb

from ecgq.data import DataError, load_splits
from ecgq.data.config import data_config
from ecgq.data import errors, mitbih
from ecgq.data.errors import SKIP_HINT, RecordError
from ecgq.data.preprocess import check_signal
from ecgq.data.wfdb_io import read_record


def test_unknown_dataset_and_task():
    with pytest.raises(DataError, match="Unknown dataset 'ecg5000'.*synthetic"):
        data_config("ecg5000")
    cfg = data_config("synthetic")
    cfg.name = "ecg5000"
    with pytest.raises(DataError, match="Unknown dataset"):
        load_splits(cfg)
    cfg = data_config("mitbih")
    cfg.task = "aami4"
    with pytest.raises(DataError, match="Unknown task 'aami4'.*aami5"):
        load_splits(cfg)
    assert issubclass(DataError, ValueError)


def test_missing_folder_names_path_and_download(tmp_path):
    cfg = data_config("mitbih")
    cfg.data_dir = str(tmp_path / "nowhere")
    with pytest.raises(DataError, match="nowhere.*physionet.*download=True"):
        load_splits(cfg)


def test_no_data_dir_names_the_flag(monkeypatch):
    monkeypatch.delenv("ECGQ_DATA", raising=False)
    with pytest.raises(DataError, match="data.data_dir"):
        load_splits(data_config("ptbxl"))


def test_bad_ptbxl_rate(ptbxl_dir, tmp_path):
    cfg = data_config("ptbxl")
    cfg.data_dir, cfg.cache, cfg.sampling_rate = str(ptbxl_dir), False, 250
    with pytest.raises(DataError, match="100 or 500"):
        load_splits(cfg)


def test_missing_lead_names_record_and_leads(mitdb_dir):
    with pytest.raises(RecordError, match=r"no lead \['V1'\].*\['MLII', 'V5'\]"):
        read_record(str(mitdb_dir / "100"), ("V1",))


@pytest.fixture
def partial_mitdb(tmp_path, mitdb_dir):
    """A MIT-BIH folder holding only records 100 (DS2), 101 and 106 (DS1)."""
    root = tmp_path / "mitdb"
    root.mkdir()
    os.symlink(mitdb_dir / "RECORDS", root / "RECORDS")
    for record in ("100", "101", "106"):
        for ext in ("hea", "dat", "atr"):
            os.symlink(mitdb_dir / f"{record}.{ext}", root / f"{record}.{ext}")
    return root


def test_missing_records_and_lead_fail_or_are_counted(partial_mitdb, tmp_path, caplog):
    cfg = data_config("mitbih")
    cfg.data_dir, cfg.cache_dir, cfg.leads = str(partial_mitdb), str(tmp_path / "c"), "V1"
    with pytest.raises(DataError, match="108.*skip_bad_records") as info:
        load_splits(cfg)
    assert SKIP_HINT in str(info.value)
    cfg.skip_bad_records = True
    with caplog.at_level("WARNING", logger="ecgq.data"):
        s = load_splits(cfg)
    assert set(s.train.record) | set(s.val.record) == {"101", "106"}
    assert len(s.test) == 0
    test_drops = s.info.dropped["test"]
    assert test_drops["skipped_record:missing_lead"] == 1  # 100 has MLII and V5 only
    assert test_drops["skipped_record:missing_record"] == 21
    # ... and named: every skipped record, under its split and reason
    ds2_missing = [r for r in mitbih.DS2 if r != "100"]
    assert s.info.skipped["test"] == {"missing_lead": ["100"], "missing_record": ds2_missing}
    ds1_named = s.info.skipped["train"].get("missing_record", []) + s.info.skipped["val"].get("missing_record", [])
    assert sorted(ds1_named) == sorted(r for r in mitbih.DS1 if r not in ("101", "106"))
    for split, by_reason in s.info.skipped.items():
        for reason, ids in by_reason.items():
            assert s.info.dropped[split][f"skipped_record:{reason}"] == len(ids)
    [warning] = [r.getMessage() for r in caplog.records if "mitbih test" in r.getMessage()]
    assert "skipped 22 bad record(s)" in warning and "missing_lead: 100" in warning
    assert all(r in warning for r in ds2_missing[:9]) and ds2_missing[9] not in warning
    assert "(+12 more)" in warning
    assert os.listdir(tmp_path / "c")  # the partial build was cached under its own key
    caplog.clear()
    with caplog.at_level("WARNING", logger="ecgq.data"):
        again = load_splits(cfg)  # from the cache: the names survive, and are warned about again
    assert again.info == s.info
    assert any("mitbih test" in r.getMessage() and "missing_lead: 100" in r.getMessage() for r in caplog.records)


def test_skip_hint_names_launch_and_cli_flags(tmp_path):
    assert "--config.data.skip_bad_records=True" in SKIP_HINT and "python -m ecgq.data: --skip_bad_records" in SKIP_HINT
    with pytest.raises(RecordError) as info:
        read_record(str(tmp_path / "nosuch"), ())
    assert info.value.reason == "missing_record" and SKIP_HINT in str(info.value)
    with pytest.raises(RecordError) as info:
        check_signal(np.zeros((10, 1)), "r1")
    assert SKIP_HINT in str(info.value)
    # one constant, not copies of the wording: no data module spells the hint itself
    data_pkg = pathlib.Path(errors.__file__).parent
    for path in data_pkg.glob("*.py"):
        if path.name != "errors.py":
            assert "skip_bad_records=True" not in path.read_text(), f"{path} repeats the hint; use SKIP_HINT"


def test_nan_and_flat_signals():
    good = np.random.default_rng(0).normal(size=(100, 2))
    check_signal(good, "ok")
    nan = good.copy()
    nan[5, 1] = np.nan
    with pytest.raises(RecordError, match="rec7 contains NaN") as info:
        check_signal(nan, "rec7")
    assert info.value.reason == "nan_signal"
    flat = good.copy()
    flat[:, 0] = 0.3
    with pytest.raises(RecordError, match="rec8 has a flat lead"):
        check_signal(flat, "rec8")


def test_flat_and_corrupt_records_in_a_folder(tmp_path):
    rng = np.random.default_rng(0)
    rows = ["record,label,split"]
    for i in range(6):
        sig = rng.normal(size=(1000, 1))
        if i == 0:
            sig[:] = 0.0  # flat
        wfdb.wrsamp(f"s{i}", fs=250, units=["mV"], sig_name=["II"], p_signal=sig, fmt=["16"],
                    write_dir=str(tmp_path))
        rows.append(f"s{i},{'a' if i % 2 else 'b'},{['train', 'train', 'val', 'val', 'test', 'test'][i]}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    cfg = data_config("wfdb_folder")
    cfg.data_dir, cfg.cache = str(tmp_path), False
    with pytest.raises(DataError, match="s0 has a flat lead"):
        load_splits(cfg)
    (tmp_path / "s0.hea").write_text("garbage header\n")
    with pytest.raises(DataError, match="s0"):
        load_splits(cfg)
