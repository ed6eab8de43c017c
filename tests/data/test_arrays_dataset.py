"""arrays: small temporary .npz files and UCR folders (.tsv, .txt, no extension, .ts)."""

from __future__ import annotations

import numpy as np
import pytest

from ecgq.data import DataError, check_data_config, data_config, load_splits
from ecgq.data.arrays import class_mapping
from ecgq.data.summary import check_disjoint

RNG = np.random.default_rng(0)


def _cfg(path, **fields):
    cfg = data_config("arrays")
    cfg.data_dir, cfg.cache = str(path), False
    cfg.arrays.update(fields.pop("arrays", {}))
    cfg.update(fields)
    return cfg


def _rows(split, x):
    """The file rows of a split's examples (ids 'train:17' name row 17 of x_train)."""
    return np.array([int(r.split(":")[1]) for r in split.record])


def test_one_pool_with_patients_gives_patient_disjoint_stratified_splits(tmp_path):
    n = 120
    x = RNG.normal(size=(n, 40))
    y = np.array(["pvc", "normal", "normal", "af"] * (n // 4))
    patient = np.repeat([f"p{i}" for i in range(24)], 5)
    np.savez(tmp_path / "d.npz", x=x, y=y, patient=patient)
    s = load_splits(_cfg(tmp_path / "d.npz", val_fraction=0.25, test_fraction=0.25))
    assert s.info.class_names == ("af", "normal", "pvc") and s.info.lead_names == ("ch0",)
    assert s.info.sampling_rate == 0.0 and not s.info.multilabel
    check_disjoint(s)
    assert sum(len(split) for _, split in s.items()) == n
    for _, split in s.items():
        assert split.x.dtype == np.float32 and split.x.shape[1:] == (40, 1) and split.y.dtype == np.int32
        assert set(np.unique(split.y)) == {0, 1, 2}  # stratified: every class everywhere
        assert (split.record == split.patient).all()
        rows = np.flatnonzero(np.isin(patient, split.patient))
        np.testing.assert_array_equal(np.sort(np.array(["af", "normal", "pvc"])[split.y]), np.sort(y[rows]))
    assert len(set(s.test.patient)) == 6 and len(set(s.val.patient)) == 4  # 25 % of 24, then of 18
    # normalize='none' by default: the arrays arrive as stored
    train_rows = np.flatnonzero(np.isin(patient, s.train.patient))
    np.testing.assert_allclose(np.sort(s.train.x[:, :, 0].sum(1)), np.sort(x[train_rows].sum(1)), rtol=1e-5)
    again = load_splits(_cfg(tmp_path / "d.npz", val_fraction=0.25, test_fraction=0.25))
    np.testing.assert_array_equal(again.test.patient, s.test.patient)
    other = load_splits(_cfg(tmp_path / "d.npz", val_fraction=0.25, test_fraction=0.25, val_seed=3))
    assert set(other.test.patient) != set(s.test.patient)


def test_given_splits_are_kept_and_validation_carved_from_train_by_record(tmp_path):
    x_train, x_test = RNG.normal(size=(60, 32, 2)), RNG.normal(size=(20, 32, 2))
    y_train, y_test = np.tile([0, 1, 2], 20), np.tile([2, 1, 0, 1], 5)
    record_train = np.repeat(np.arange(12), 5)
    np.savez(tmp_path / "s.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
             record_train=record_train, lead_names=np.array(["II", "V1"]))
    s = load_splits(_cfg(tmp_path / "s.npz", val_fraction=0.25, normalize="window"))
    assert s.info.class_names == ("0", "1", "2") and s.info.lead_names == ("II", "V1")
    assert len(s.test) == 20 and list(s.test.record[:2]) == ["test:0", "test:1"]
    np.testing.assert_array_equal(s.test.y, y_test)
    np.testing.assert_allclose(s.test.x.mean(axis=1), 0, atol=1e-5)  # per-example z-score asked for
    assert set(s.train.record).isdisjoint(s.val.record) and len(set(s.val.record)) == 3
    assert len(s.train) + len(s.val) == 60
    with_val = dict(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, x_val=x_test[:4], y_val=y_test[:4])
    np.savez(tmp_path / "v.npz", **with_val)
    v = load_splits(_cfg(tmp_path / "v.npz", leads="ch1"))
    assert len(v.val) == 4 and len(v.train) == 60 and v.info.lead_names == ("ch1",)
    np.testing.assert_allclose(v.val.x[:, :, 0], x_test[:4, :, 1], rtol=1e-6)
    np.testing.assert_array_equal(_rows(v.train, x_train), np.arange(60))
    # without groups, single examples are held out: stratified, seeded, rare classes on both sides
    np.savez(tmp_path / "u.npz", x_train=x_train, y_train=np.r_[np.zeros(56, int), [1, 1, 1, 2]],
             x_test=x_test, y_test=y_test)
    u = load_splits(_cfg(tmp_path / "u.npz", val_fraction=0.25))
    assert len(u.val) == 14 + 1 and sorted(u.val.y.tolist()).count(1) == 1 and 2 not in u.val.y


@pytest.mark.parametrize("labels, names, each", [
    ([3, 10, 7, 3], ("3", "7", "10"), ["3", "10", "7", "3"]),                  # numbers in numeric order
    ([-1.0, 1.0, 1.0], ("-1", "1"), ["-1", "1", "1"]),                         # UCR's float labels
    (["1", "1.0", "-1.0000000e+00", "2"], ("-1", "1", "2"), ["1", "1", "-1", "2"]),  # numeric text: numbers
    (["b", "a", "B", "a"], ("B", "a", "b"), ["b", "a", "B", "a"]),             # text in string order
    ([True, False], ("False", "True"), ["True", "False"]),
    ([0.5, 0.25], ("0.25", "0.5"), ["0.5", "0.25"]),
])
def test_labels_of_any_type_map_to_sorted_contiguous_classes(labels, names, each):
    got, [index] = class_mapping([np.array(labels)], "f.npz")
    assert got == names and index.dtype == np.int32
    assert np.array(names)[index].tolist() == each
    # several splits share one mapping, whatever the order they list their labels in
    got2, (first, second) = class_mapping([np.array(labels[::-1]), np.array(labels)], "f.npz")
    assert got2 == names and np.array_equal(second, index)


def _ucr_rows(n, length, labels):
    x = np.round(RNG.normal(size=(n, length)), 4)
    y = np.array(labels * (n // len(labels)))
    return x, y


def test_ucr_formats_agree(tmp_path):
    x_tr, y_tr = _ucr_rows(20, 12, [-1, 1])
    x_te, y_te = _ucr_rows(10, 12, [1, -1])
    (tmp_path / "tsv").mkdir()
    for part, x, y in (("TRAIN", x_tr, y_tr), ("TEST", x_te, y_te)):
        lines = ["\t".join([str(label)] + [repr(float(v)) for v in row]) for label, row in zip(y, x)]
        (tmp_path / "tsv" / f"ECG_{part}.tsv").write_text("\n".join(lines) + "\n")
        # old archive: whitespace-separated, leading blanks, labels as floats in e-notation
        lines = ["  " + "  ".join([f"{label:.7e}"] + [f"{v:.7e}" for v in row]) for label, row in zip(y, x)]
        (tmp_path / "txt").mkdir(exist_ok=True)
        (tmp_path / "txt" / f"ECG_{part}.txt").write_text("\n".join(lines) + "\n")
        lines = [",".join([str(label)] + [repr(float(v)) for v in row]) for label, row in zip(y, x)]
        (tmp_path / "archive" / "ECG").mkdir(parents=True, exist_ok=True)
        (tmp_path / "archive" / "ECG" / f"ECG_{part}").write_text("\n".join(lines) + "\n")
        lines = ["# written for the test", "@problemName ECG", "@timeStamps false", "@univariate true",
                 "@equalLength true", "@seriesLength 12", "@classLabel true -1 1", "@data"]
        lines += [",".join(repr(float(v)) for v in row) + f":{label}" for label, row in zip(y, x)]
        (tmp_path / "ts").mkdir(exist_ok=True)
        (tmp_path / "ts" / f"ECG_{part}.ts").write_text("\n".join(lines) + "\n")
    loaded = {
        "tsv": load_splits(_cfg(tmp_path / "tsv")),
        "txt": load_splits(_cfg(tmp_path / "txt" / "ECG_TRAIN.txt")),
        "none": load_splits(_cfg(tmp_path / "archive", arrays={"ucr_name": "ECG"})),
        "ts": load_splits(_cfg(tmp_path / "ts", arrays={"ucr_name": "ECG"})),
    }
    ref = loaded["tsv"]
    assert ref.info.class_names == ("-1", "1") and len(ref.test) == 10 and len(ref.train) + len(ref.val) == 20
    np.testing.assert_allclose(ref.test.x[:, :, 0], x_te, rtol=1e-6)
    np.testing.assert_array_equal(np.array([-1, 1])[ref.test.y], y_te)
    np.testing.assert_allclose(ref.train.x[:, :, 0], x_tr[_rows(ref.train, x_tr)], rtol=1e-6)
    for name, s in loaded.items():
        assert s.info.class_names == ref.info.class_names, name
        for (_, a), (_, b) in zip(s.items(), ref.items()):
            np.testing.assert_array_equal(a.record, b.record)
            np.testing.assert_array_equal(a.y, b.y)
            np.testing.assert_allclose(a.x, b.x, rtol=1e-6, atol=1e-7)


def test_multivariate_ts_and_resampling(tmp_path):
    lines = ["@problemName M", "@timeStamps false", "@univariate false", "@dimensions 2", "@equalLength true",
             "@classLabel true a b", "@data"]
    x = RNG.normal(size=(8, 2, 100))
    lines += [":".join(",".join(repr(float(v)) for v in dim) for dim in ex) + f":{'ab'[i % 2]}" for i, ex in enumerate(x)]
    for part in ("TRAIN", "TEST"):
        (tmp_path / f"M_{part}.ts").write_text("\n".join(lines) + "\n")
    s = load_splits(_cfg(tmp_path))
    assert s.test.x.shape == (8, 100, 2) and s.info.lead_names == ("ch0", "ch1")
    np.testing.assert_allclose(s.test.x, x.transpose(0, 2, 1), rtol=1e-6)
    r = load_splits(_cfg(tmp_path, sampling_rate=100, target_rate=50))
    assert r.test.x.shape == (8, 50, 2) and r.info.sampling_rate == 50.0
    with pytest.raises(DataError, match="need the arrays' rate: set data.sampling_rate"):
        load_splits(_cfg(tmp_path, target_rate=50))
    with pytest.raises(DataError, match="sampling_rate"):
        check_data_config(_cfg(tmp_path, bandpass=True))


def test_cache_and_config_check_accept_a_file(tmp_path):
    np.savez(tmp_path / "c.npz", x=RNG.normal(size=(30, 16)), y=np.tile([0, 1, 2], 10))
    cfg = _cfg(tmp_path / "c.npz")
    check_data_config(cfg)
    cfg.cache, cfg.cache_dir = True, str(tmp_path / "cache")
    first = load_splits(cfg)
    second = load_splits(cfg)
    assert second.info == first.info and len(list((tmp_path / "cache").iterdir())) == 1
    np.testing.assert_array_equal(second.train.x, first.train.x)


def _npz(tmp_path, name="bad.npz", **arrays):
    np.savez(tmp_path / name, **arrays)
    return tmp_path / name


@pytest.mark.parametrize("arrays, message", [
    (dict(x=np.zeros((4, 8))), r"bad.npz lacks key 'y'"),
    (dict(x_train=np.zeros((4, 8)), y_train=np.zeros(4), x_test=np.zeros((4, 8))), r"lacks key 'y_test'"),
    (dict(x_train=np.zeros((4, 8)), y_train=np.zeros(4)), r"lacks key 'x_test'"),
    (dict(x=np.zeros((4, 8)), y=np.zeros(4), x_train=np.zeros((4, 8))), "both x/y and x_train"),
    (dict(x=np.zeros((4, 8)), y=np.zeros(3)), r"y has 3 rows, x has 4"),
    (dict(x=np.zeros((4, 8)), y=np.zeros((4, 3))), r"y must hold one label per example.*argmax"),
    (dict(x=np.zeros((4, 8, 2, 2)), y=np.zeros(4)), r"x must be numeric \(n, time\)"),
    (dict(x=np.full((4, 8), np.nan), y=np.zeros(4)), r"x has NaN/inf in 4 example"),
    (dict(x=np.zeros((4, 8)), y=np.array([1, None, 2, 3], dtype=object)), r"key 'y' is an object array"),
    (dict(x=np.zeros((4, 8)), y=np.array([0.0, np.nan, 1, 1])), r"labels contain NaN"),
    (dict(x=np.zeros((0, 8)), y=np.zeros(0)), r"x holds no examples"),
])
def test_bad_npz_names_the_file_and_key(tmp_path, arrays, message):
    with pytest.raises(DataError, match=message):
        load_splits(_cfg(_npz(tmp_path, **arrays)))


def test_bad_inputs_name_the_file_and_the_fix(tmp_path):
    x, y = RNG.normal(size=(10, 8)), np.tile([0, 1], 5)
    leak = _npz(tmp_path, "leak.npz", x_train=x, y_train=y, x_test=x, y_test=y, patient_train=np.repeat(["a", "b"], 5),
                patient_test=np.repeat(["b", "c"], 5))
    with pytest.raises(DataError, match=r"leak.npz: patient 'b' is in both patient_train and patient_test"):
        load_splits(_cfg(leak))
    shapes = _npz(tmp_path, "shapes.npz", x_train=x, y_train=y, x_test=x[:, :6], y_test=y)
    with pytest.raises(DataError, match="differ in shape"):
        load_splits(_cfg(shapes))
    with pytest.raises(DataError, match=r"3 lead name\(s\).*1 channel"):
        load_splits(_cfg(_npz(tmp_path, "n.npz", x=x, y=y), arrays={"lead_names": "I,II,III"}))
    with pytest.raises(DataError, match=r"no channel \['II'\].*\['ch0'\]"):
        load_splits(_cfg(_npz(tmp_path, "n.npz", x=x, y=y), leads="II"))
    (tmp_path / "junk.npz").write_text("not a zip")
    with pytest.raises(DataError, match="Cannot read .*junk.npz"):
        load_splits(_cfg(tmp_path / "junk.npz"))
    ucr = tmp_path / "ucr"
    ucr.mkdir()
    (ucr / "A_TRAIN.tsv").write_text("1\t0.5\t0.2\n2\t0.1\n")
    with pytest.raises(DataError, match=r"A_TEST.tsv.*NAME_TRAIN and a NAME_TEST"):
        load_splits(_cfg(ucr))
    (ucr / "A_TEST.tsv").write_text("1\t0.5\t0.2\n")
    with pytest.raises(DataError, match=r"A_TRAIN.tsv.*line 2 has 2 fields, line 1 has 3"):
        load_splits(_cfg(ucr))
    (ucr / "A_TRAIN.tsv").write_text("1\t0.5\tx\n")
    with pytest.raises(DataError, match=r"non-numeric value"):
        load_splits(_cfg(ucr))
    (ucr / "B_TRAIN.ts").write_text("@timeStamps true\n@classLabel true 1\n@data\n(0,1.0):1\n")
    (ucr / "B_TEST.ts").write_text("@data\n")
    with pytest.raises(DataError, match=r"several datasets \(UCR \['A', 'B'\]"):
        load_splits(_cfg(ucr))
    with pytest.raises(DataError, match=r"B_TRAIN.ts.*@timeStamps true"):
        load_splits(_cfg(ucr, arrays={"ucr_name": "B"}))
    (ucr / "B_TRAIN.ts").write_text("@classLabel true 1 2\n@data\n1,2,3:1\n1,2:2\n")
    with pytest.raises(DataError, match=r"line 4 has 1 dimension\(s\) of length\(s\) \[2\].*equal-length"):
        load_splits(_cfg(ucr, arrays={"ucr_name": "B"}))
    with pytest.raises(DataError, match=r"no UCR dataset 'C'"):
        load_splits(_cfg(ucr, arrays={"ucr_name": "C"}))
    with pytest.raises(DataError, match=r"nowhere.*does not exist"):
        load_splits(_cfg(tmp_path / "nowhere.npz"))
    (tmp_path / "notes.csv").write_text("a,b\n")
    with pytest.raises(DataError, match=r"notes.csv' is neither a .npz file nor a UCR"):
        load_splits(_cfg(tmp_path / "notes.csv"))
