"""Any folder of WFDB records plus a labels CSV (``record,label[,split][,patient]``).

Records are resampled to one rate, then cropped/padded to one length or cut into windows. Labels
map to integers in sorted order of their names; the mapping is ``DatasetInfo.class_names`` (the
studies save it as ``label_map.json`` in their workdir; the user's data folder is never written). Without a
``split`` column, whole patients (or records, when no ``patient`` column) go to val/test at random with a
seed, stratified as far as possible. Every class must appear in every split, else a DataError says
which and how to fix it.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from ecgq.data import preprocess
from ecgq.data.errors import SKIP_HINT, DataError, RecordError, describe_skipped, note_skipped, warn_skipped
from ecgq.data.splitting import choose_holdout_groups, counts_by_group
from ecgq.data.registry import DATASETS, DatasetSpec
from ecgq.data.types import DatasetInfo, Splits, make_split
from ecgq.data.wfdb_io import parse_leads, read_record

SPLITS = ("train", "val", "test")


def _csv_path(cfg, data_dir: str) -> str:
    path = cfg.labels_csv if os.path.isabs(cfg.labels_csv) else os.path.join(data_dir, cfg.labels_csv)
    if not os.path.exists(path):
        raise DataError(f"Labels CSV {path!r} not found; write one with columns record,label"
                        "[,split][,patient] or set data.labels_csv.")
    return path


def read_labels(cfg, data_dir: str) -> pd.DataFrame:
    """The labels table, validated: required columns, at least one row, known split names, no
    duplicate or empty records. Header names and cells are stripped of surrounding whitespace
    (``"NORM "`` is ``"NORM"``); a UTF-8 byte-order mark (spreadsheet export) is ignored."""
    path = _csv_path(cfg, data_dir)
    expected = "columns record,label[,split][,patient], one row per record"
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise DataError(f"Labels CSV {path!r} is empty; write a header line and one row per record "
                        f"({expected}).") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataError(f"Labels CSV {path!r} is not a readable CSV ({error}); it needs "
                        f"{expected}.") from None
    table.columns = [str(c).strip() for c in table.columns]
    for column in table.columns:
        table[column] = table[column].astype(str).str.strip()
    missing = [c for c in ("record", "label") if c not in table.columns]
    if missing:
        raise DataError(f"Labels CSV {path!r} lacks column(s) {missing} (its header has "
                        f"{list(table.columns)}); needed: record,label (optional split, patient).")
    if table.empty:
        raise DataError(f"Labels CSV {path!r} has a header but no rows; add one row per record "
                        f"({expected}).")
    if (table["record"] == "").any():
        row = int(np.flatnonzero(table["record"].to_numpy() == "")[0])
        raise DataError(f"Labels CSV {path!r}: data row {row + 1} (label {table['label'][row]!r}) has an "
                        "empty record; fill it in or remove the row.")
    if table["record"].duplicated().any():
        dup = table["record"][table["record"].duplicated()].iloc[0]
        raise DataError(f"Labels CSV {path!r} lists record {dup!r} twice; keep one row per record.")
    if (table["label"] == "").any():
        bad = table["record"][table["label"] == ""].iloc[0]
        raise DataError(f"Labels CSV {path!r}: record {bad!r} has an empty label; fill it in or remove the row.")
    if "split" in table.columns:
        unknown = sorted(set(table["split"]) - set(SPLITS))
        if unknown:
            raise DataError(f"Labels CSV {path!r} has unknown split name(s) {unknown}; use {list(SPLITS)}.")
    return table


def source_files(cfg, data_dir: str) -> list[str]:
    table = read_labels(cfg, data_dir)
    files = [_csv_path(cfg, data_dir)]
    for r in table["record"]:
        files += [os.path.join(data_dir, r + ".hea"), os.path.join(data_dir, r + ".dat")]
    return files


def assign_splits(table: pd.DataFrame, class_index: np.ndarray, n_classes: int, cfg) -> np.ndarray:
    """Split name per row: the CSV's, else seeded group-disjoint stratified val/test holdouts."""
    if "split" in table.columns:
        return table["split"].to_numpy()
    groups_of_row = table["patient"].to_numpy() if "patient" in table.columns else table["record"].to_numpy()
    groups, counts = counts_by_group(groups_of_row, class_index, n_classes)
    test = choose_holdout_groups(groups, counts, cfg.val_fraction, cfg.val_seed + 1)
    rest = [i for i, g in enumerate(groups) if g not in test]
    val = choose_holdout_groups([groups[i] for i in rest], counts[rest],
                                cfg.val_fraction / max(1e-9, 1 - cfg.val_fraction), cfg.val_seed)
    where = {g: "train" for g in groups} | {g: "val" for g in val} | {g: "test" for g in test}
    return np.array([where[g] for g in groups_of_row])


def build(cfg, data_dir: str) -> Splits:
    table = read_labels(cfg, data_dir)
    class_names = tuple(sorted(set(table["label"])))
    if cfg.labels:
        declared = tuple(n.strip() for n in cfg.labels.split(",") if n.strip())
        unknown = sorted(set(class_names) - set(declared))
        if unknown:
            raise DataError(f"Labels CSV has unknown label(s) {unknown} (data.labels={cfg.labels!r}); "
                            "fix the CSV or add them to data.labels.")
        class_names = declared
    label_index = {name: i for i, name in enumerate(class_names)}
    class_index = table["label"].map(label_index).to_numpy()
    split_of_row = assign_splits(table, class_index, len(class_names), cfg)
    patients = table["patient"].to_numpy() if "patient" in table.columns else table["record"].to_numpy()
    leads = parse_leads(cfg.leads)
    rate, length, lead_names, lead_count = cfg.target_rate or None, cfg.crop_length or None, leads, None
    parts = {s: ([], [], [], []) for s in SPLITS}
    dropped = {s: {} for s in SPLITS}
    skipped = {s: {} for s in SPLITS}
    for i, row in table.iterrows():
        split = split_of_row[i]
        try:
            sig, fs, names = read_record(os.path.join(data_dir, row["record"]), leads)
            preprocess.check_signal(sig, row["record"])
            if lead_count is not None and len(names) != lead_count:
                raise RecordError(row["record"], "lead_mismatch", f"Record {row['record']} has {len(names)} "
                                  f"leads, others {lead_count}; select leads with data.leads or {SKIP_HINT}.")
        except RecordError as error:
            if not cfg.skip_bad_records:
                raise
            note_skipped(dropped[split], skipped[split], row["record"], error.reason)
            continue
        sig = preprocess.condition_record(sig, fs, cfg)
        rate = rate or fs
        sig = preprocess.resample(sig, fs, rate)
        length = length or len(sig)
        lead_names, lead_count = names, len(names)
        windows = preprocess.crops(sig, int(length), int(cfg.crop_stride))
        xs, ys, recs, pats = parts[split]
        xs.append(windows)
        ys += [class_index[i]] * len(windows)
        recs += [row["record"]] * len(windows)
        pats += [patients[i]] * len(windows)
    warn_skipped("wfdb_folder", skipped)
    splits = {}
    for s in SPLITS:
        xs, ys, recs, pats = parts[s]
        present = set(ys)
        absent = [class_names[c] for c in range(len(class_names)) if c not in present]
        if absent:
            raise DataError(f"Split {s!r} of {data_dir!r} has no example of class(es) {absent}; add "
                            "records of that class, assign them in the CSV's split column, or change "
                            "data.val_fraction / data.val_seed."
                            + (f" (Skipped records of this split: {describe_skipped(skipped[s])}.)"
                               if skipped[s] else ""))
        x = np.concatenate(xs)
        splits[s] = make_split(preprocess.normalize_windows(x, cfg.normalize), ys, recs, pats)
    info = DatasetInfo(name="wfdb_folder", task=cfg.task, class_names=class_names, multilabel=False,
                       sampling_rate=float(rate), lead_names=tuple(lead_names), dropped=dropped,
                       skipped=skipped)
    return Splits(info=info, **splits)


def _check_labels_csv(cfg, data_dir: str) -> None:
    _csv_path(cfg, data_dir)


DATASETS.register(DatasetSpec(
    name="wfdb_folder",
    description="Any folder of WFDB records with one label per record (labels CSV; optional split/patient columns)",
    tasks=("labels",),
    build=build,
    source_files=source_files,
    fields={"labels_csv": "labels.csv", "labels": ""},
    docs={
        "labels_csv": "CSV with columns record,label[,split][,patient]; relative paths are inside data_dir.",
        "labels": "Comma-separated label names in class-index order; '' = the CSV's labels sorted. A CSV label not listed is an error.",
    },
    check=_check_labels_csv,
))
