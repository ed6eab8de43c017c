"""PTB-XL subset: benchmark superclass aggregation, folds 1-8/9/10, patient disjointness."""

from __future__ import annotations

import numpy as np

from ecgq.data import load_splits, ptbxl
from ecgq.data.config import data_config
from ecgq.data.summary import check_disjoint

SUBSET_COUNTS = {"NORM": 297, "MI": 73, "STTC": 96, "HYP": 40, "CD": 78}
FOLD_SIZES = [58, 51, 34, 42, 47, 33, 44, 44, 81, 66]


def test_superclass_counts(ptbxl_splits):
    s = ptbxl_splits
    assert s.info.class_names == ("NORM", "MI", "STTC", "CD", "HYP") and s.info.multilabel
    total = sum(split.y.sum(axis=0) for _, split in s.items())
    assert dict(zip(s.info.class_names, total.astype(int).tolist())) == SUBSET_COUNTS
    assert sum(d.get("no_superclass", 0) for d in s.info.dropped.values()) == 12


def test_folds(ptbxl_splits, ptbxl_dir):
    db = ptbxl.read_database(str(ptbxl_dir))
    assert db["strat_fold"].value_counts().sort_index().tolist() == FOLD_SIZES
    fold_of = {str(i): f for i, f in db["strat_fold"].items()}
    s = ptbxl_splits
    assert {fold_of[r] for r in s.train.record} == set(range(1, 9))
    assert {fold_of[r] for r in s.val.record} == {9}
    assert {fold_of[r] for r in s.test.record} == {10}
    for name, split in s.items():
        n_folds = sum(FOLD_SIZES[f - 1] for f in ptbxl.FOLDS[name])
        assert len(split) == n_folds - s.info.dropped[name].get("no_superclass", 0)


def test_patients_disjoint_and_shapes(ptbxl_splits):
    s = ptbxl_splits
    check_disjoint(s)
    for _, split in s.items():
        assert split.x.shape[1:] == (1000, 12) and split.y.dtype == np.float32
        assert split.rr is None
        assert len(set(split.patient)) <= len(set(split.record))
    assert s.info.sampling_rate == 100.0 and s.info.lead_names[:3] == ("I", "II", "III")


def test_binary_leads_and_crops(ptbxl_cfg):
    cfg = ptbxl_cfg.copy_and_resolve_references()
    cfg.task, cfg.leads, cfg.crop_length, cfg.crop_stride = "binary", "II,V1", 256, 128
    s = load_splits(cfg)
    assert s.info.class_names == ("NORM", "abnormal") and not s.info.multilabel
    assert s.info.lead_names == ("II", "V1")
    assert s.train.x.shape[1:] == (256, 2)
    crops_per_record = (1000 - 256) // 128 + 1
    assert len(s.train) == 352 * crops_per_record
    # every crop of one record carries that record's label
    for record in np.unique(s.test.record)[:10]:
        assert len(set(s.test.y[s.test.record == record])) == 1
    ys = np.concatenate([split.y for _, split in s.items()]) [::crops_per_record]
    assert (ys == 0).sum() + (ys == 1).sum() == 488
    check_disjoint(s)


def test_skipped_records_are_named_by_ecg_id(ptbxl_dir, tmp_path, caplog):
    """Two records missing from folds 1-8 and one corrupt in fold 10 are skipped and named."""
    db = ptbxl.read_database(str(ptbxl_dir))
    labelled = db[db["superclasses"].map(bool)]
    missing = [int(i) for i in labelled.index[labelled["strat_fold"] <= 8][:2]]
    corrupt = int(labelled.index[labelled["strat_fold"] == 10][0])
    root = tmp_path / "ptbxl"
    (root / "records100" / "00000").mkdir(parents=True)
    for name in ("ptbxl_database.csv", "scp_statements.csv"):
        (root / name).symlink_to(ptbxl_dir / name)
    for ecg_id, filename in db["filename_lr"].items():
        if ecg_id in missing:
            continue
        for ext in ("hea", "dat"):
            target = root / f"{filename}.{ext}"
            if ecg_id == corrupt and ext == "hea":
                target.write_text("not a wfdb header\n")
            else:
                target.symlink_to(ptbxl_dir / f"{filename}.{ext}")
    cfg = data_config("ptbxl")
    cfg.data_dir, cfg.cache, cfg.skip_bad_records = str(root), False, True
    with caplog.at_level("WARNING", logger="ecgq.data"):
        s = load_splits(cfg)
    assert s.info.skipped == {"train": {"missing_record": [str(i) for i in missing]}, "val": {},
                              "test": {"corrupt_record": [str(corrupt)]}}
    assert s.info.dropped["train"]["skipped_record:missing_record"] == 2
    assert s.info.dropped["test"]["skipped_record:corrupt_record"] == 1
    assert not {str(i) for i in missing + [corrupt]} & set().union(*(set(x.record) for _, x in s.items()))
    messages = [r.getMessage() for r in caplog.records]
    assert any("ptbxl train" in m and f"missing_record: {missing[0]}, {missing[1]}" in m for m in messages)
    assert any("ptbxl test" in m and f"corrupt_record: {corrupt}" in m for m in messages)
