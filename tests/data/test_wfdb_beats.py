"""wfdb_beats: a few real MIT-BIH records (and the Noise Stress Test) read as a generic beat database."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest
import wfdb
from scipy import signal as scipy_signal

from ecgq.data import DataError, check_data_config, data_config, load_splits, mitbih, preprocess, wfdb_beats
from ecgq.data.align import beat_keys
from ecgq.data.errors import SKIP_HINT, RecordError
from ecgq.data.summary import check_disjoint

RECORDS = ("100", "101", "106", "114")  # 114 has V5 first and MLII second
AAMI_OF = {**dict.fromkeys("NLRej", 0), **dict.fromkeys("AaJS", 1), **dict.fromkeys("VE", 2), "F": 3,
           **dict.fromkeys("/fQ", 4)}


def _link(folder, source_dir, records, exts=("hea", "dat", "atr")):
    folder.mkdir(exist_ok=True)
    for r in records:
        for ext in exts:
            os.symlink(source_dir / f"{r}.{ext}", folder / f"{r}.{ext}")
    return folder


@pytest.fixture(scope="module")
def beat_db(tmp_path_factory, mitdb_dir):
    """A WFDB folder: RECORDS lists four MIT-BIH records; 102 (no MLII) lies there unlisted."""
    root = _link(tmp_path_factory.mktemp("beat_db"), mitdb_dir, RECORDS + ("102",))
    (root / "RECORDS").write_text("\n".join(RECORDS) + "\n")
    return root


def _cfg(folder, **fields):
    cfg = data_config("wfdb_beats")
    cfg.data_dir, cfg.cache = str(folder), False
    own = {k: fields.pop(k) for k in list(fields) if k in cfg.wfdb_beats} | fields.pop("wfdb_beats", {})
    cfg.update(fields)
    cfg.wfdb_beats.update(own)
    return cfg


@pytest.fixture(scope="module")
def native(beat_db):
    return load_splits(_cfg(beat_db, split="all_test"))


def _inside_counts(mitdb_dir, record, length):
    """AAMI beats whose centred window fits in the record, per class, straight from wfdb."""
    ann = wfdb.rdann(str(mitdb_dir / record), "atr")
    n = wfdb.rdheader(str(mitdb_dir / record)).sig_len
    counts = np.zeros(5, int)
    for sample, symbol in zip(ann.sample, ann.symbol):
        if symbol in AAMI_OF and sample - length // 2 >= 0 and sample - length // 2 + length <= n:
            counts[AAMI_OF[symbol]] += 1
    return counts


def test_all_test_at_360_hz_agrees_with_the_mitbih_loader(native, beat_db, mitdb_dir):
    s = native
    assert len(s.train) == len(s.val) == 0 and set(s.test.record) == set(RECORDS)
    assert s.info.class_names == ("N", "S", "V", "F", "Q") and s.info.sampling_rate == 360.0
    assert s.info.lead_names == ("MLII",) and s.test.x.shape[1:] == (256, 1)
    cfg = _cfg(beat_db)
    for r in RECORDS:
        rows = s.test.record == r
        assert np.bincount(s.test.y[rows], minlength=5).tolist() == _inside_counts(mitdb_dir, r, 256).tolist()
        ref = mitbih.load_record(str(mitdb_dir / r), cfg, ("MLII",))
        np.testing.assert_array_equal(s.test.y[rows], ref["y"])
        np.testing.assert_array_equal(s.test.beat[rows], ref["beat"])
        np.testing.assert_array_equal(s.test.rr[rows], ref["rr"])
        np.testing.assert_allclose(s.test.x[rows], preprocess.normalize_windows(ref["x"], "window"), atol=1e-6)
    assert (s.test.patient == s.test.record).all()


def test_resampled_to_128_hz_keeps_labels_and_source_rate_rr(native, beat_db, mitdb_dir):
    s = load_splits(_cfg(beat_db, split="all_test", target_rate=128))
    assert s.info.sampling_rate == 128.0 and s.test.x.shape[1:] == (256, 1)
    # The same beats (named by their 360 Hz annotation sample) carry the same label and RR context.
    at_360 = {k: i for i, k in enumerate(beat_keys(native.test))}
    index = np.array([at_360[k] for k in beat_keys(s.test)])
    assert len(index) > 0.99 * len(native.test)  # 2 s windows at 128 Hz lose a few more edge beats
    np.testing.assert_array_equal(s.test.y, native.test.y[index])
    np.testing.assert_array_equal(s.test.rr, native.test.rr[index])
    # A window is the scipy-resampled record around the beat's 128 Hz sample.
    raw = load_splits(_cfg(beat_db, split="all_test", target_rate=128, bandpass=False, notch_hz=0.0,
                           normalize="none", wfdb_beats={"records": "100"}))
    signal = wfdb.rdrecord(str(mitdb_dir / "100"), channel_names=["MLII"]).p_signal[:, 0]
    resampled = scipy_signal.resample_poly(signal, 16, 45)
    for i in (0, 100, len(raw.test) - 1):
        centre = int(round(raw.test.beat[i] * 128 / 360))
        np.testing.assert_allclose(raw.test.x[i, :, 0], resampled[centre - 128: centre + 128], atol=1e-5)


@pytest.fixture(scope="module")
def per_record(beat_db):
    """Each record's beats, loaded once for the split tests."""
    return {r: wfdb_beats.load_record(str(beat_db), r, _cfg(beat_db)) for r in RECORDS}


def test_random_split_is_record_disjoint_stratified_and_seeded(beat_db, per_record):
    s = load_splits(_cfg(beat_db, split="random", test_fraction=0.25, val_fraction=0.34))
    check_disjoint(s)
    parts = [set(split.record) for _, split in s.items()]
    assert all(parts) and set().union(*parts) == set(RECORDS)
    assert sum(len(p) for p in parts) == len(RECORDS)

    def assigned(**fields):
        out = wfdb_beats.assign_splits(list(RECORDS), per_record, {}, _cfg(beat_db, split="random", **fields))
        return tuple(tuple(out[name]) for name in ("train", "val", "test"))

    assert [set(p) for p in assigned(test_fraction=0.25, val_fraction=0.34)] == parts  # the same procedure
    assert assigned(val_seed=1) == assigned(val_seed=1)
    assert len({assigned(val_seed=k) for k in range(6)}) > 1  # the seed moves records
    for k in range(6):
        train, val, test = assigned(val_seed=k, test_fraction=0.5)
        assert len(test) == 2 and sorted(train + val + test) == sorted(RECORDS)


def test_patients_csv_keeps_a_patients_records_together(beat_db, per_record, tmp_path):
    (tmp_path / "patients.csv").write_text("record,patient\n100,p1\n101,p1\n")
    cfg = _cfg(beat_db, split="random", wfdb_beats={"patients_csv": str(tmp_path / "patients.csv")})
    patient_of = wfdb_beats.read_patients(cfg, str(beat_db))
    assert patient_of == {"100": "p1", "101": "p1"}
    for seed in range(8):
        cfg.val_seed = seed
        out = wfdb_beats.assign_splits(list(RECORDS), per_record, patient_of, cfg)
        assert len([name for name, records in out.items() if {"100", "101"} & set(records)]) == 1
    s = load_splits(cfg)
    check_disjoint(s)
    split = next(split for _, split in s.items() if "100" in split.record)
    assert set(split.patient[np.isin(split.record, ["100", "101"])]) == {"p1"} and "101" in split.record
    (tmp_path / "bad.csv").write_text("record,subject\n100,p1\n")
    with pytest.raises(DataError, match=r"bad.csv.*lacks column.*\['patient'\]"):
        load_splits(_cfg(beat_db, wfdb_beats={"patients_csv": str(tmp_path / "bad.csv")}))


def test_named_record_lists(beat_db, tmp_path):
    s = load_splits(_cfg(beat_db, split="records", test_records="100", val_records="101"))
    assert set(s.test.record) == {"100"} and set(s.val.record) == {"101"}
    assert set(s.train.record) == {"106", "114"}
    only = load_splits(_cfg(beat_db, split="records", train_records="106,114", test_records="100", val_fraction=0.5))
    assert set(only.train.record) | set(only.val.record) == {"106", "114"} and set(only.test.record) == {"100"}
    assert len(set(only.val.record)) == 1  # validation carved as whole records
    with pytest.raises(DataError, match=r"\['999'\].*not records"):
        load_splits(_cfg(beat_db, split="records", test_records="100,999"))
    with pytest.raises(DataError, match="'100' is in both"):
        load_splits(_cfg(beat_db, split="records", test_records="100", val_records="100"))
    with pytest.raises(DataError, match="split='records'"):
        load_splits(_cfg(beat_db, split="random", test_records="100"))
    (tmp_path / "p.csv").write_text("record,patient\n100,p1\n101,p1\n")
    with pytest.raises(DataError, match="Patient 'p1' has record 10[01] in .* and record 10[01]"):
        load_splits(_cfg(beat_db, split="records", test_records="100", val_records="101",
                         wfdb_beats={"patients_csv": str(tmp_path / "p.csv")}))


def test_lead_fallback_and_records_without_a_usable_lead(beat_db, caplog):
    with caplog.at_level(logging.WARNING, logger="ecgq.data"):
        s = load_splits(_cfg(beat_db, split="all_test", records="100,102"))
    assert set(s.test.record) == {"100", "102"} and s.info.lead_names == ("MLII",)
    assert any("102: V2" in r.getMessage() for r in caplog.records)  # 102 has V5 and V2, no MLII
    with pytest.raises(RecordError, match=r"Record 102 has none of the leads \['MLII'\].*\['V5', 'V2'\]"
                                          r".*lead_fallback") as info:
        load_splits(_cfg(beat_db, split="all_test", records="100,102", lead_fallback=""))
    assert SKIP_HINT in str(info.value)
    skipped = load_splits(_cfg(beat_db, split="all_test", records="100,102", lead_fallback="",
                               skip_bad_records=True))
    assert set(skipped.test.record) == {"100"}
    assert skipped.info.skipped["test"] == {"missing_lead": ["102"]}
    assert skipped.info.dropped["test"]["skipped_record:missing_lead"] == 1
    with pytest.raises(RecordError, match=r"Record 100 has no lead \['V1'\]"):
        load_splits(_cfg(beat_db, split="all_test", records="100", leads="MLII,V1"))
    two = load_splits(_cfg(beat_db, split="all_test", records="100,101", leads="MLII,V1", skip_bad_records=True))
    assert set(two.test.record) == {"101"} and two.test.x.shape[2] == 2 and two.info.lead_names == ("MLII", "V1")


def test_records_found_on_disk_and_a_missing_annotator(tmp_path, mitdb_dir):
    folder = _link(tmp_path / "db", mitdb_dir, ("100", "106"))
    _link(folder, mitdb_dir, ("101",), exts=("hea", "dat"))  # no annotation file
    with pytest.raises(RecordError, match=r"Record .*101 has no annotation file .*101\.atr.*wfdb_beats\.annotator"):
        load_splits(_cfg(folder, split="all_test"))
    s = load_splits(_cfg(folder, split="all_test", skip_bad_records=True))
    assert sorted(set(s.test.record)) == ["100", "106"]
    assert s.info.skipped["test"] == {"missing_annotation": ["101"]}
    with pytest.raises(RecordError, match=r"no annotation file .*100\.qrs"):
        load_splits(_cfg(folder, split="all_test", annotator="qrs", records="100"))
    with pytest.raises(DataError, match=r"No WFDB record in .*empty"):
        load_splits(_cfg(_link(tmp_path / "empty", mitdb_dir, ()), split="all_test"))


def test_binary_task_and_cache(beat_db, tmp_path):
    cfg = _cfg(beat_db, split="all_test", task="binary", records="100,106")
    cfg.cache, cfg.cache_dir = True, str(tmp_path / "cache")
    s = load_splits(cfg)
    assert s.info.class_names == ("N", "abnormal") and set(np.unique(s.test.y)) == {0, 1}
    cached = load_splits(cfg)
    assert os.listdir(tmp_path / "cache") and cached.info == s.info
    np.testing.assert_array_equal(cached.test.x, s.test.x)
    np.testing.assert_array_equal(cached.test.rr, s.test.rr)


def test_noise_stress_test_database_carries_the_mitbih_annotations(ecgq_data, mitdb_dir, caplog):
    nstdb = ecgq_data / "nstdb"
    cfg = _cfg(nstdb, split="all_test", target_rate=250, window_length=180, records="118e24,118e_6,bw")
    with pytest.raises(RecordError, match=r"Record .*bw has no annotation file"):
        load_splits(cfg)
    cfg.skip_bad_records = True
    with caplog.at_level(logging.WARNING, logger="ecgq.data"):
        s = load_splits(cfg)
    assert s.info.skipped["test"] == {"missing_annotation": ["bw"]}
    assert any("missing_annotation: bw" in r.getMessage() for r in caplog.records)
    assert s.info.sampling_rate == 250.0 and s.test.x.shape[1:] == (180, 1)
    ref = mitbih.load_record(str(mitdb_dir / "118"), cfg, ("MLII",))
    for noisy in ("118e24", "118e_6"):
        rows = s.test.record == noisy
        np.testing.assert_array_equal(s.test.beat[rows], ref["beat"])  # the original MIT-BIH beats
        np.testing.assert_array_equal(s.test.y[rows], ref["y"])
        np.testing.assert_array_equal(s.test.rr[rows], ref["rr"])
    clean, noisiest = (s.test.x[s.test.record == r] for r in ("118e24", "118e_6"))
    assert np.mean(np.abs(clean - noisiest)) > 0.05  # same beats, different noise


def test_check_data_config_names_the_field(beat_db, tmp_path):
    cfg = _cfg(beat_db)
    check_data_config(cfg)
    cfg.wfdb_beats.split = "by_patient"
    with pytest.raises(DataError, match=r"wfdb_beats\.split='by_patient'.*all_test"):
        check_data_config(cfg)
    cfg = _cfg(tmp_path / "nowhere")
    with pytest.raises(DataError, match="nowhere.*does not exist.*physionet_db"):
        check_data_config(cfg)
    (tmp_path / "file").write_text("")
    with pytest.raises(DataError, match="not a folder"):
        check_data_config(_cfg(tmp_path / "file"))
