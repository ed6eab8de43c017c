"""MIT-BIH under the de Chazal inter-patient protocol."""

from __future__ import annotations

import numpy as np
import pytest
import wfdb

from ecgq.data import mitbih
from ecgq.data.rr import MAX_RR, MIN_RR, RR_FEATURES, rr_features, select_rr
from ecgq.data.summary import check_disjoint
from ecgq.data.types import make_split
from ecgq.data.wfdb_io import read_record

# de Chazal et al. 2004, Table I (AAMI classes N, S, V, F, Q).
EXPECTED = {"DS1": [45866, 944, 3788, 415, 8], "DS2": [44259, 1837, 3221, 388, 7]}
# The protocol, written out here independently of the loader's own constants.
DS1 = "101 106 108 109 112 114 115 116 118 119 122 124 201 203 205 207 208 209 215 220 223 230".split()
DS2 = "100 103 105 111 113 117 121 123 200 202 210 212 213 214 219 221 222 228 231 232 233 234".split()
AAMI_OF = {**dict.fromkeys("NLRej", 0), **dict.fromkeys("AaJS", 1), **dict.fromkeys("VE", 2), "F": 3,
           **dict.fromkeys("/fQ", 4)}


def _counts(*splits):
    y = np.concatenate([s.y for s in splits])
    return np.bincount(y, minlength=5)


def _annotated(mitdb_dir, records, window_length):
    """(all AAMI beats, beats whose centred window fits in the record) per class, read with wfdb."""
    total, inside = np.zeros(5, int), np.zeros(5, int)
    for r in records:
        ann = wfdb.rdann(str(mitdb_dir / r), "atr")
        n_samples = wfdb.rdheader(str(mitdb_dir / r)).sig_len
        for sample, symbol in zip(ann.sample, ann.symbol):
            if symbol in AAMI_OF:
                total[AAMI_OF[symbol]] += 1
                start = sample - window_length // 2
                inside[AAMI_OF[symbol]] += start >= 0 and start + window_length <= n_samples
    return total, inside


def test_protocol_constants():
    assert list(mitbih.DS1) == DS1 and list(mitbih.DS2) == DS2


def test_ds1_ds2_class_counts_match_protocol(mitbih_splits, mitbih_cfg, mitdb_dir):
    s = mitbih_splits
    assert mitbih_cfg.window_offset == -1 and mitbih_cfg.target_rate == 0  # centred, native 360 Hz
    for name, records, got in (("DS1", DS1, _counts(s.train, s.val)), ("DS2", DS2, _counts(s.test))):
        total, inside = _annotated(mitdb_dir, records, mitbih_cfg.window_length)
        assert total.tolist() == EXPECTED[name]  # the annotation files are the paper's
        assert got.tolist() == inside.tolist(), name  # exactly the beats whose window fits
    # Every lost beat is accounted for as dropped at a record edge.
    dropped1 = s.info.dropped["train"].get("window_outside_record", 0) + s.info.dropped["val"].get(
        "window_outside_record", 0)
    assert sum(EXPECTED["DS1"]) - _counts(s.train, s.val).sum() == dropped1
    assert sum(EXPECTED["DS2"]) - _counts(s.test).sum() == s.info.dropped["test"]["window_outside_record"]
    assert s.info.skipped == {"train": {}, "val": {}, "test": {}}


def test_records_per_split(mitbih_splits):
    s = mitbih_splits
    ds1 = set(s.train.record) | set(s.val.record)
    assert ds1 == set(mitbih.DS1) and len(ds1) == 22
    assert set(s.test.record) == set(mitbih.DS2) and len(set(s.test.record)) == 22
    assert not (ds1 | set(s.test.record)) & set(mitbih.PACED)
    assert set(s.train.record).isdisjoint(s.val.record)  # validation = whole records
    check_disjoint(s)


def test_validation_has_every_class(mitbih_splits):
    assert (_counts(mitbih_splits.val) > 0).all()
    assert (_counts(mitbih_splits.train) > 0).all()


def test_windows_rr_and_info(mitbih_splits):
    s = mitbih_splits
    assert s.train.x.shape[1:] == (256, 1) and s.train.x.dtype == np.float32
    assert s.info.class_names == ("N", "S", "V", "F", "Q") and s.info.sampling_rate == 360.0
    assert s.info.lead_names == ("MLII",)
    np.testing.assert_allclose(s.train.x[:100].mean(axis=1), 0, atol=1e-4)  # per-window z-score
    rr = s.test.rr
    assert rr.shape == (len(s.test), len(RR_FEATURES))
    assert 0.6 < np.median(rr[:, 0]) < 1.2 and (rr > 0).all()
    assert ((rr[:, :4] >= MIN_RR) & (rr[:, :4] <= MAX_RR)).all()  # implausible intervals replaced
    # The record mean is one value per record, and the ratios divide by it.
    for record in np.unique(s.test.record)[:5]:
        assert len(np.unique(rr[s.test.record == record, 3])) == 1
    np.testing.assert_allclose(rr[:, 4:], rr[:, :3] / rr[:, 3:4], rtol=1e-5)


def test_rr_features_on_known_intervals():
    beats = np.array([0, 360, 720, 1260])  # 1 s, 1 s, 1.5 s at 360 Hz
    rr = rr_features(beats, 360.0)
    assert rr.shape == (4, len(RR_FEATURES)) and rr.dtype == np.float32
    np.testing.assert_allclose(rr[:, 0], [1, 1, 1, 1.5])
    np.testing.assert_allclose(rr[:, 1], [1, 1, 1.5, 1.5])
    np.testing.assert_allclose(rr[3, 2], np.mean([1, 1, 1, 1.5]))
    np.testing.assert_allclose(rr[:, 3], np.mean([1, 1, 1, 1.5]))  # the record's mean pre-RR
    np.testing.assert_allclose(rr[:, 4], rr[:, 0] / rr[:, 3], rtol=1e-6)
    np.testing.assert_allclose(rr[:, 6], rr[:, 2] / rr[:, 3], rtol=1e-6)


def test_select_rr_keeps_the_named_columns_in_the_order_given():
    rr = np.arange(3 * len(RR_FEATURES), dtype=np.float32).reshape(3, -1)
    split = make_split(np.zeros((3, 8, 1), np.float32), np.zeros(3, np.int32), np.array(["a"] * 3),
                       np.array(["a"] * 3), rr=rr)
    kept = select_rr(split, ("post_rr_norm", "pre_rr"))
    np.testing.assert_array_equal(kept.rr, rr[:, [RR_FEATURES.index("post_rr_norm"), 0]])
    assert split.rr.shape[1] == len(RR_FEATURES)  # the input split is left alone
    with pytest.raises(ValueError, match="unknown RR features"):
        select_rr(split, ("pre_rr", "heart_rate"))


def test_implausible_intervals_are_replaced_by_the_records_median():
    # 1 s beats with one 10 s gap (an annotation gap) and one 50 ms double detection.
    beats = np.concatenate([np.arange(6) * 360, [5 * 360 + 3600 + 360 * k for k in range(4)]])
    beats = np.sort(np.append(beats, beats[2] + 18))
    rr = rr_features(beats, 360.0)
    assert np.all((rr[:, :3] >= MIN_RR) & (rr[:, :3] <= MAX_RR))
    np.testing.assert_allclose(rr[:, 3], 1.0, rtol=0.05)  # the gap does not inflate the record mean
    assert rr_features(np.array([0]), 360.0).shape == (1, len(RR_FEATURES))
    assert rr_features(np.array([], np.int64), 360.0).shape == (0, len(RR_FEATURES))


def test_lead_selected_by_name_on_record_114(mitdb_dir):
    path = str(mitdb_dir / "114")
    raw = wfdb.rdrecord(path)
    assert raw.sig_name == ["V5", "MLII"]
    signal, fs, names = read_record(path, ("MLII",))
    assert names == ("MLII",) and fs == 360
    np.testing.assert_array_equal(signal[:, 0], raw.p_signal[:, 1])
    v5, _, _ = read_record(path, ("V5",))
    assert not np.allclose(v5[:, 0], signal[:, 0])


def test_window_centred_on_r_peak(mitdb_dir, mitbih_cfg):
    cfg = mitbih_cfg.copy_and_resolve_references()
    cfg.bandpass, cfg.notch_hz, cfg.normalize = False, 0.0, "none"
    out = mitbih.load_record(str(mitdb_dir / "100"), cfg, ("MLII",))
    raw = wfdb.rdrecord(str(mitdb_dir / "100"), channel_names=["MLII"]).p_signal[:, 0]
    first = wfdb.rdann(str(mitdb_dir / "100"), "atr")
    r = [s for s, sym in zip(first.sample, first.symbol) if sym in mitbih.BEAT_SYMBOLS and s >= 128][0]
    np.testing.assert_allclose(out["x"][0, :, 0], raw[r - 128: r + 128], atol=1e-6)
    assert len(out["y"]) + out["dropped"]["window_outside_record"] == 2273  # all beats of 100 map to AAMI


def test_binary_task_drops_q(mitbih_cfg, data_cache_dir):
    from ecgq.data import load_splits

    cfg = mitbih_cfg.copy_and_resolve_references()
    cfg.task = "binary"
    s = load_splits(cfg)
    assert s.info.class_names == ("N", "abnormal")
    assert set(np.unique(s.test.y)) == {0, 1}
    assert s.info.dropped["test"]["q_class_in_binary"] == 7
    assert (s.test.y == 1).sum() == 1837 + 3220 + 388
