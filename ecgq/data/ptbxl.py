"""PTB-XL: superdiagnostic labels as in the PTB-XL benchmark, folds 1-8 / 9 / 10.

Labels: every key of ``scp_codes`` that is a diagnostic statement (``diagnostic == 1`` in
scp_statements.csv) contributes its ``diagnostic_class`` (any likelihood, as the benchmark code of
Strodthoff et al. 2021 does). Class order is fixed: NORM, MI, STTC, CD, HYP. Records without any
superclass are dropped and counted. ``strat_fold`` is patient-wise in PTB-XL, so the 1-8/9/10
split keeps patients disjoint (checked by the summary CLI and the tests). Works unchanged on the
full 21,799-record release.
"""

from __future__ import annotations

import ast
import os

import numpy as np
import pandas as pd

from ecgq.data import preprocess
from ecgq.data.errors import DataError, RecordError, note_skipped, warn_skipped
from ecgq.data.registry import DATASETS, DatasetSpec, PhysioNetSource
from ecgq.data.types import DatasetInfo, Splits, make_split
from ecgq.data.wfdb_io import parse_leads, read_record

SUPERCLASSES = ("NORM", "MI", "STTC", "CD", "HYP")
BINARY_NAMES = ("NORM", "abnormal")
FOLDS = {"train": range(1, 9), "val": (9,), "test": (10,)}


def _file_column(cfg) -> str:
    if int(cfg.sampling_rate) not in (100, 500):
        raise DataError(f"data.sampling_rate={cfg.sampling_rate} is not a PTB-XL rate; use 100 or 500.")
    return "filename_lr" if int(cfg.sampling_rate) == 100 else "filename_hr"


def read_database(data_dir: str) -> pd.DataFrame:
    """ptbxl_database.csv with a ``superclasses`` column (list of names in SUPERCLASSES order)."""
    db_path = os.path.join(data_dir, "ptbxl_database.csv")
    scp_path = os.path.join(data_dir, "scp_statements.csv")
    for path in (db_path, scp_path):
        if not os.path.exists(path):
            raise DataError(f"PTB-XL file {path!r} is missing; data.data_dir must be the PTB-XL root.")
    db = pd.read_csv(db_path, index_col="ecg_id")
    scp = pd.read_csv(scp_path, index_col=0)
    diagnostic = scp[scp["diagnostic"] == 1]["diagnostic_class"].to_dict()

    def superclasses(codes: str) -> list[str]:
        found = {diagnostic[k] for k in ast.literal_eval(codes) if k in diagnostic}
        return [c for c in SUPERCLASSES if c in found]

    db["superclasses"] = db["scp_codes"].apply(superclasses)
    return db


def source_files(cfg, data_dir: str) -> list[str]:
    db = pd.read_csv(os.path.join(data_dir, "ptbxl_database.csv"), usecols=["filename_lr", "filename_hr"])
    col = _file_column(cfg)
    files = [os.path.join(data_dir, "ptbxl_database.csv"), os.path.join(data_dir, "scp_statements.csv")]
    return files + [os.path.join(data_dir, f + ".dat") for f in db[col]]


def build(cfg, data_dir: str) -> Splits:
    db = read_database(data_dir)
    col = _file_column(cfg)
    leads = parse_leads(cfg.leads)
    binary = cfg.task == "binary"
    fs_out, lead_names = None, leads
    splits, dropped, skipped = {}, {}, {}
    for name, folds in FOLDS.items():
        part = db[db["strat_fold"].isin(folds)]
        drop, skip = {}, {}
        xs, ys, ids, pats = [], [], [], []
        for ecg_id, row in part.iterrows():
            if not row["superclasses"]:
                drop["no_superclass"] = drop.get("no_superclass", 0) + 1
                continue
            try:
                sig, fs, names = read_record(os.path.join(data_dir, row[col]), leads)
                preprocess.check_signal(sig, str(ecg_id))
            except RecordError as error:
                if not cfg.skip_bad_records:
                    raise
                note_skipped(drop, skip, str(ecg_id), error.reason)  # named by ecg_id, as in Split.record
                continue
            sig = preprocess.condition_record(sig, fs, cfg)
            if cfg.target_rate:
                sig = preprocess.resample(sig, fs, cfg.target_rate)
                fs = float(cfg.target_rate)
            fs_out, lead_names = fs, names
            windows = preprocess.crops(sig, int(cfg.crop_length), int(cfg.crop_stride))
            classes = row["superclasses"]
            y = (int(classes != ["NORM"]) if binary
                 else np.array([c in classes for c in SUPERCLASSES], np.float32))
            xs.append(windows)
            ys += [y] * len(windows)
            ids += [str(ecg_id)] * len(windows)
            pid = row["patient_id"]  # records without a patient id stand for their own patient
            pats += [str(int(pid)) if pd.notna(pid) else f"record-{ecg_id}"] * len(windows)
        if xs and len({w.shape for w in xs}) > 1:
            raise DataError("PTB-XL records differ in length; set data.crop_length to a fixed size.")
        x = np.concatenate(xs) if xs else np.zeros((0, max(int(cfg.crop_length), 1), max(len(leads), 1)))
        y = np.asarray(ys, dtype=np.int32 if binary else np.float32).reshape(
            (-1,) if binary else (-1, len(SUPERCLASSES)))
        splits[name] = make_split(preprocess.normalize_windows(x, cfg.normalize), y, ids, pats,
                                  multilabel=not binary)
        dropped[name], skipped[name] = drop, skip
    info = DatasetInfo(name="ptbxl", task=cfg.task, class_names=BINARY_NAMES if binary else SUPERCLASSES,
                       multilabel=not binary, sampling_rate=float(fs_out or cfg.sampling_rate),
                       lead_names=tuple(lead_names), dropped=dropped, skipped=skipped)
    warn_skipped("ptbxl", skipped)
    return Splits(info=info, **splits)


DATASETS.register(DatasetSpec(
    name="ptbxl",
    description="PTB-XL 12-lead records, strat_fold 1-8 train / 9 val / 10 test, superdiagnostic labels",
    tasks=("superdiagnostic", "binary"),
    build=build,
    source_files=source_files,
    defaults={"sampling_rate": 100},
    physionet=PhysioNetSource("ptb-xl", "ptbxl_subset500", "ptbxl_database.csv",
                              extra_files=("ptbxl_database.csv", "scp_statements.csv")),
))
