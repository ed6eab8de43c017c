"""PTB-XL subset: benchmark superclass aggregation, folds 1-8/9/10, patient disjointness."""

from __future__ import annotations

import numpy as np

from ecgq.data import load_splits, ptbxl
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
