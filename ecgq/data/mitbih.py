"""MIT-BIH Arrhythmia Database: one window per annotated beat, AAMI classes, de Chazal split.

Protocol (de Chazal et al., IEEE TBME 51(7), 2004): DS1 (22 records) trains, DS2 (22 records)
tests, the four paced records are excluded; validation is whole DS1 records so no patient's beats
are both fitted and validated on. Each record is treated as one patient, as the protocol does
(note: MIT-BIH documents 201 and 202 as the same subject; DS1 holds 201, DS2 holds 202 - an
inherent property of the standard protocol we keep for comparability).
``intra_patient=True`` pools the beats of all 44 records and splits them at random: this LEAKS
patients between splits and exists only to reproduce the inflated numbers of the literature.
"""

from __future__ import annotations

import os

import numpy as np

from ecgq.data import beats, preprocess
from ecgq.data.beats import AAMI, AAMI_CLASSES, BEAT_SYMBOLS, BINARY_NAMES  # noqa: F401 - the protocol's names
from ecgq.data.errors import DataError, RecordError, warn_skipped
from ecgq.data.registry import DATASETS, DatasetSpec, PhysioNetSource
from ecgq.data.splitting import choose_holdout_groups
from ecgq.data.types import DatasetInfo, Split, Splits, make_split
from ecgq.data.wfdb_io import parse_leads, read_record

DS1 = ("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122", "124", "201",
       "203", "205", "207", "208", "209", "215", "220", "223", "230")
DS2 = ("100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210", "212", "213",
       "214", "219", "221", "222", "228", "231", "232", "233", "234")
PACED = ("102", "104", "107", "217")


def source_files(cfg, data_dir: str) -> list[str]:
    """The files whose identity keys the cache."""
    return [os.path.join(data_dir, f"{r}.{ext}") for r in DS1 + DS2 for ext in ("hea", "dat", "atr")]


def excluded(cfg) -> tuple[str, ...]:
    """The records ``data.exclude_records`` leaves out of every split (checked against DS1 + DS2)."""
    names = tuple(n.strip() for n in str(cfg.get("exclude_records", "")).split(",") if n.strip())
    unknown = [n for n in names if n not in DS1 + DS2]
    if unknown:
        raise DataError(f"--config.data.exclude_records names {unknown}, which are not DS1/DS2 records of the "
                        f"de Chazal protocol; choose from DS1 {list(DS1)} or DS2 {list(DS2)}.")
    return names


def check(cfg, data_dir: str) -> None:
    excluded(cfg)


def load_record(path: str, cfg, leads: tuple[str, ...]) -> dict:
    """Windows, AAMI labels, RR features and drop counts of one record (see ``beats.beat_windows``)."""
    signal, fs, names = read_record(path, leads)
    preprocess.check_signal(signal, os.path.basename(path))
    samples, symbols = beats.read_beats(path, "atr")
    return {**beats.beat_windows(signal, fs, samples, symbols, cfg), "leads": names}


def build(cfg, data_dir: str) -> Splits:
    leads = parse_leads(cfg.leads) or ("MLII",)
    out = excluded(cfg)
    ds1, ds2 = tuple(r for r in DS1 if r not in out), tuple(r for r in DS2 if r not in out)
    per_record, skipped = {}, {}
    for record in ds1 + ds2:
        try:
            per_record[record] = load_record(os.path.join(data_dir, record), cfg, leads)
        except RecordError as error:
            if not cfg.skip_bad_records:
                raise
            skipped[record] = error.reason
    if not per_record:
        raise RecordError("mitdb", "missing_record", f"No usable MIT-BIH record in {data_dir!r}.")
    skipped_in = lambda records: beats.skipped_by_reason(records, skipped)
    fs = next(iter(per_record.values()))["fs"]
    names = beats.class_names(cfg.task)

    def assemble(records) -> tuple[Split, dict]:
        return beats.assemble(per_record, records, skipped, cfg, len(leads))

    if cfg.intra_patient:
        return _intra_patient(cfg, assemble, fs, leads, names, skipped_in(ds1 + ds2), ds1 + ds2)
    usable = [r for r in ds1 if r in per_record]
    counts = beats.holdout_counts(per_record, usable, cfg.task)
    val_records = choose_holdout_groups(usable, counts, cfg.val_fraction, cfg.val_seed)
    train_records = [r for r in ds1 if r not in val_records]
    train, d_train = assemble(train_records)
    val, d_val = assemble(val_records)
    test, d_test = assemble(ds2)
    info = DatasetInfo(name="mitbih", task=cfg.task, class_names=names,
                       multilabel=False, sampling_rate=fs, lead_names=leads,
                       dropped={"train": d_train, "val": d_val, "test": d_test},
                       skipped={"train": skipped_in(train_records), "val": skipped_in(val_records),
                                "test": skipped_in(ds2)})
    warn_skipped("mitbih", info.skipped)
    return Splits(train=train, val=val, test=test, info=info)


def _intra_patient(cfg, assemble, fs, leads, names, skipped=None, records=DS1 + DS2) -> Splits:
    """LEAKY: all 44 records' beats shuffled into 60/20/20 (stratified by class, seeded)."""
    from sklearn.model_selection import train_test_split

    pooled, dropped = assemble(list(records))
    idx = np.arange(len(pooled))
    train_idx, rest = train_test_split(idx, test_size=0.4, random_state=cfg.val_seed, stratify=pooled.y)
    val_idx, test_idx = train_test_split(rest, test_size=0.5, random_state=cfg.val_seed, stratify=pooled.y[rest])
    take = lambda i: make_split(pooled.x[i], pooled.y[i], pooled.record[i], pooled.patient[i], pooled.rr[i],
                                beat=pooled.beat[i])
    info = DatasetInfo(name="mitbih", task=cfg.task, class_names=names,
                       multilabel=False, sampling_rate=fs, lead_names=leads,
                       dropped={"train": dropped, "val": {}, "test": {}},
                       skipped={"train": skipped or {}, "val": {}, "test": {}})
    warn_skipped("mitbih", info.skipped)
    return Splits(train=take(train_idx), val=take(val_idx), test=take(test_idx), info=info)


DATASETS.register(DatasetSpec(
    name="mitbih",
    description="MIT-BIH Arrhythmia beats, de Chazal inter-patient DS1 (train/val by record) -> DS2 (test), AAMI classes, RR features",
    tasks=beats.TASKS,
    build=build,
    source_files=source_files,
    fields={"intra_patient": False, "exclude_records": ""},
    docs={
        "exclude_records": "Comma-separated records left out of every split (e.g. 118,119, the clean sources "
                           "of the Noise Stress Test Database, so that a model scored on it never trained on them).",
        "intra_patient": "LEAKY intra-patient beat split (same patients in train and test). For comparison with leaky literature only; never report it as a result.",
    },
    defaults={"leads": "MLII"},
    physionet=PhysioNetSource("mitdb", "mitdb", "RECORDS", extra_files=("RECORDS",)),
    rr_features=True,
    check=check,
))
