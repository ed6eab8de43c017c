"""The generic loader on a WFDB folder built from real MIT-BIH segments."""

from __future__ import annotations

import json

import numpy as np
import pytest
import wfdb

from ecgq.data import DataError, load_splits
from ecgq.data.config import data_config
from ecgq.data.summary import check_disjoint

SOURCES = {"100": "normal", "101": "normal", "103": "normal", "106": "pvc", "119": "pvc", "208": "pvc"}
SEGMENTS = 3
SECONDS = 10


@pytest.fixture(scope="module")
def folder(tmp_path_factory, mitdb_dir):
    """Three 10 s two-lead segments of each of six records, one patient per source record."""
    root = tmp_path_factory.mktemp("wfdb_folder")
    rows = ["record,label,patient"]
    for source, label in SOURCES.items():
        rec = wfdb.rdrecord(str(mitdb_dir / source))
        order = [rec.sig_name.index("MLII"), 1 - rec.sig_name.index("MLII")]  # MLII + its chest lead
        rec.p_signal = rec.p_signal[:, order]
        for k in range(SEGMENTS):
            name = f"r{source}_{k}"
            seg = rec.p_signal[k * 3600 * 2: k * 3600 * 2 + SECONDS * 360]
            wfdb.wrsamp(name, fs=360, units=["mV", "mV"], sig_name=["MLII", "chest"], p_signal=seg,
                        fmt=["16", "16"], write_dir=str(root))
            rows.append(f"{name},{label},p{source}")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


def _cfg(folder, tmp_path, **fields):
    cfg = data_config("wfdb_folder")
    cfg.data_dir = str(folder)
    cfg.cache_dir = str(tmp_path / "cache")
    cfg.val_fraction = 0.34
    for k, v in fields.items():
        setattr(cfg, k, v)
    return cfg


def test_resample_crop_and_patient_split(folder, tmp_path):
    s = load_splits(_cfg(folder, tmp_path, target_rate=180, leads="MLII"))
    assert s.info.class_names == ("normal", "pvc")
    assert s.info.sampling_rate == 180.0 and s.info.lead_names == ("MLII",)
    assert s.train.x.shape[1:] == (SECONDS * 180, 1)
    check_disjoint(s)
    for _, split in s.items():
        assert set(np.unique(split.y)) == {0, 1}  # stratified: every class in every split
    n = sum(len(split) for _, split in s.items())
    assert n == len(SOURCES) * SEGMENTS
    assert not list(folder.glob("*.json")), "the loader must never write into the user's data folder"


def test_data_summary_study_saves_the_label_map(folder, tmp_path):
    import ml_collections

    from ecgq.studies import run

    config = ml_collections.ConfigDict({"study": "data_summary", "seed": 0,
                                        "data": _cfg(folder, tmp_path, target_rate=180, leads="MLII")})
    run(config, str(tmp_path / "work"))
    assert json.loads((tmp_path / "work" / "label_map.json").read_text()) == {"normal": 0, "pvc": 1}
    summary = json.loads((tmp_path / "work" / "data_summary.json").read_text())
    assert set(summary["splits"]) == {"train", "val", "test"}


def test_seeded_split_is_deterministic_and_seed_dependent(folder, tmp_path):
    a = load_splits(_cfg(folder, tmp_path, cache=False))
    b = load_splits(_cfg(folder, tmp_path, cache=False))
    assert set(a.test.patient) == set(b.test.patient)
    seeds = {frozenset(load_splits(_cfg(folder, tmp_path, cache=False, val_seed=k)).test.patient)
             for k in range(6)}
    assert len(seeds) > 1


def test_windows_and_split_column(folder, tmp_path):
    csv = folder / "labels.csv"
    lines = csv.read_text().splitlines()
    rows = [lines[0] + ",split"] + [
        f"{line},{'test' if line.startswith(('r101', 'r119')) else 'val' if line.startswith(('r103', 'r208')) else 'train'}"
        for line in lines[1:]]
    (folder / "split.csv").write_text("\n".join(rows) + "\n")
    s = load_splits(_cfg(folder, tmp_path, labels_csv="split.csv", crop_length=720, crop_stride=720))
    assert s.train.x.shape[1:] == (720, 2)
    assert len(s.test) == 2 * SEGMENTS * 5  # 10 s / 2 s windows, record id kept per window
    assert set(s.test.record) == {f"r{src}_{k}" for src in ("101", "119") for k in range(SEGMENTS)}


def test_missing_record_unknown_label_and_empty_class(folder, tmp_path):
    base = (folder / "labels.csv").read_text()
    (folder / "missing.csv").write_text(base + "nosuch,normal,p9\n")
    with pytest.raises(DataError, match="nosuch"):
        load_splits(_cfg(folder, tmp_path, labels_csv="missing.csv", cache=False))
    s = load_splits(_cfg(folder, tmp_path, labels_csv="missing.csv", cache=False, skip_bad_records=True))
    assert sum(d.get("skipped_record:missing_record", 0) for d in s.info.dropped.values()) == 1

    with pytest.raises(DataError, match="unknown label"):
        load_splits(_cfg(folder, tmp_path, labels="normal", cache=False))

    lines = base.splitlines()
    rows = [lines[0] + ",split"] + [f"{l},{'train' if 'pvc' in l else 'val' if l.endswith('p100') else 'test'}"
                                    for l in lines[1:]]
    (folder / "empty.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match="no example of class"):
        load_splits(_cfg(folder, tmp_path, labels_csv="empty.csv", cache=False))


@pytest.mark.parametrize("text, match", [
    ("", r"is empty.*record,label\[,split\]\[,patient\]"),
    ("record,label\n", r"header but no rows.*record,label\[,split\]\[,patient\]"),
    ("record,label,patient\n\n", r"header but no rows"),
])
def test_empty_or_header_only_csv_names_file_and_columns(folder, tmp_path, text, match):
    (folder / "bad.csv").write_text(text)
    with pytest.raises(DataError, match=match) as info:
        load_splits(_cfg(folder, tmp_path, labels_csv="bad.csv", cache=False))
    assert str(folder / "bad.csv") in str(info.value)


@pytest.mark.parametrize("header, missing", [("record,class", "label"), ("name,label", "record"),
                                             ("r100_0,normal", "record")])
def test_csv_missing_a_required_column_names_file_and_column(folder, tmp_path, header, missing):
    (folder / "cols.csv").write_text(f"{header}\nr100_0,normal\nr106_0,pvc\n")
    with pytest.raises(DataError, match=rf"lacks column\(s\) \[.*'{missing}'.*\]") as info:
        load_splits(_cfg(folder, tmp_path, labels_csv="cols.csv", cache=False))
    assert str(folder / "cols.csv") in str(info.value) and header.split(",")[0] in str(info.value)


def test_labels_records_and_header_are_stripped(folder, tmp_path):
    rows = [line.split(",") for line in (folder / "labels.csv").read_text().splitlines()[1:]]
    padded = [" record , label , patient "] + [
        f" {r} ,{l} , {p}" if i % 2 else f"{r},  {l}\t,{p} " for i, (r, l, p) in enumerate(rows)]
    (folder / "padded.csv").write_text("\ufeff" + "\n".join(padded) + "\n")  # with a spreadsheet BOM
    s = load_splits(_cfg(folder, tmp_path, labels_csv="padded.csv", cache=False))
    assert s.info.class_names == ("normal", "pvc")  # not "normal " / "  pvc" as classes of their own
    assert set().union(*(set(split.record) for _, split in s.items())) == {r for r, _, _ in rows}
    assert set().union(*(set(split.patient) for _, split in s.items())) == {p for _, _, p in rows}
    # stripped duplicates are duplicates
    (folder / "dup.csv").write_text("record,label\nr100_0,normal\nr100_0 ,normal\n")
    with pytest.raises(DataError, match="'r100_0' twice"):
        load_splits(_cfg(folder, tmp_path, labels_csv="dup.csv", cache=False))
    (folder / "blank.csv").write_text("record,label\nr100_0,normal\n  ,pvc\n")
    with pytest.raises(DataError, match="data row 2 .*'pvc'.* empty record"):
        load_splits(_cfg(folder, tmp_path, labels_csv="blank.csv", cache=False))


def test_skipped_records_are_named_per_split_and_reason(folder, tmp_path, caplog):
    lines = (folder / "labels.csv").read_text().splitlines()
    split_of = lambda line: "test" if "r101" in line or "r119" in line else "val" if "r103" in line or "r208" in line else "train"
    rows = [lines[0] + ",split"] + [f"{line},{split_of(line)}" for line in lines[1:]]
    rows += [f"gone{k},normal,pg{k},test" for k in range(12)] + ["nosuch,pvc,p9,train"]
    (folder / "skips.csv").write_text("\n".join(rows) + "\n")
    with caplog.at_level("WARNING", logger="ecgq.data"):
        s = load_splits(_cfg(folder, tmp_path, labels_csv="skips.csv", cache=False, skip_bad_records=True))
    assert s.info.skipped == {"train": {"missing_record": ["nosuch"]}, "val": {},
                              "test": {"missing_record": [f"gone{k}" for k in range(12)]}}
    assert s.info.dropped["test"] == {"skipped_record:missing_record": 12}
    assert s.info.dropped["train"] == {"skipped_record:missing_record": 1}
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 2  # one per split that skipped something
    [test_warning] = [w for w in warnings if "wfdb_folder test" in w]
    assert "skipped 12 bad record(s)" in test_warning
    assert all(f"gone{k}" in test_warning for k in range(10)) and "gone10" not in test_warning
    assert "(+2 more)" in test_warning
    [train_warning] = [w for w in warnings if "wfdb_folder train" in w]
    assert "missing_record: nosuch" in train_warning and "more" not in train_warning
