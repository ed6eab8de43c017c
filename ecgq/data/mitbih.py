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
import wfdb

from ecgq.data import preprocess
from ecgq.data.errors import SKIP_HINT, RecordError, warn_skipped
from ecgq.data.registry import DATASETS, DatasetSpec, PhysioNetSource
from ecgq.data.rr import RR_FEATURES, rr_features
from ecgq.data.splitting import choose_holdout_groups
from ecgq.data.types import DatasetInfo, Split, Splits, make_split
from ecgq.data.wfdb_io import parse_leads, read_record

DS1 = ("101", "106", "108", "109", "112", "114", "115", "116", "118", "119", "122", "124", "201",
       "203", "205", "207", "208", "209", "215", "220", "223", "230")
DS2 = ("100", "103", "105", "111", "113", "117", "121", "123", "200", "202", "210", "212", "213",
       "214", "219", "221", "222", "228", "231", "232", "233", "234")
PACED = ("102", "104", "107", "217")
AAMI_CLASSES = ("N", "S", "V", "F", "Q")
AAMI = {**dict.fromkeys("NLRej", 0), **dict.fromkeys("AaJS", 1), **dict.fromkeys("VE", 2),
        "F": 3, **dict.fromkeys("/fQ", 4)}
# Every beat annotation code of the database (non-beat codes such as + ~ | " are excluded).
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")
BINARY_NAMES = ("N", "abnormal")


def source_files(cfg, data_dir: str) -> list[str]:
    """The files whose identity keys the cache."""
    return [os.path.join(data_dir, f"{r}.{ext}") for r in DS1 + DS2 for ext in ("hea", "dat", "atr")]


def load_record(path: str, cfg, leads: tuple[str, ...]) -> dict:
    """Windows, AAMI labels, RR features and drop counts of one record."""
    record = os.path.basename(path)
    signal, fs, names = read_record(path, leads)
    preprocess.check_signal(signal, record)
    try:
        ann = wfdb.rdann(path, "atr")
    except Exception as error:
        raise RecordError(record, "corrupt_record", f"Cannot read annotations {path}.atr ({error}); "
                          f"re-download the record or {SKIP_HINT}.") from error
    signal = preprocess.condition_record(signal, fs, cfg)
    samples = np.asarray(ann.sample)
    source_samples = samples
    if cfg.target_rate and cfg.target_rate != fs:
        signal = preprocess.resample(signal, fs, cfg.target_rate)
        samples = np.round(samples * cfg.target_rate / fs).astype(np.int64)
        fs = float(cfg.target_rate)
    symbols = np.asarray(ann.symbol)
    is_beat = np.isin(symbols, list(BEAT_SYMBOLS))
    beat_samples, beat_symbols = samples[is_beat], symbols[is_beat]
    beat_ids = source_samples[is_beat]
    rr = rr_features(beat_samples, fs)
    label = np.array([AAMI.get(s, -1) for s in beat_symbols], dtype=np.int64)
    dropped = {"non_aami_beat_symbol": int((label < 0).sum())}
    length = int(cfg.window_length)
    offset = length // 2 if cfg.window_offset < 0 else int(cfg.window_offset)
    if cfg.pad_edges:  # every beat keeps a whole window: the record is extended by its end values
        signal = np.pad(signal, ((length, length), (0, 0)), mode="edge")
        beat_samples = beat_samples + length
    start = beat_samples - offset
    inside = (start >= 0) & (start + length <= len(signal))
    dropped["window_outside_record"] = int(((label >= 0) & ~inside).sum())
    keep = (label >= 0) & inside
    view = np.lib.stride_tricks.sliding_window_view(signal, length, axis=0)  # (T-L+1, leads, L)
    x = view[start[keep]].transpose(0, 2, 1).astype(np.float32)
    return {"x": x, "y": label[keep], "rr": rr[keep], "beat": beat_ids[keep], "dropped": dropped, "fs": fs,
            "leads": names}


def build(cfg, data_dir: str) -> Splits:
    leads = parse_leads(cfg.leads) or ("MLII",)
    per_record, skipped = {}, {}
    for record in DS1 + DS2:
        try:
            per_record[record] = load_record(os.path.join(data_dir, record), cfg, leads)
        except RecordError as error:
            if not cfg.skip_bad_records:
                raise
            skipped[record] = error.reason
    if not per_record:
        raise RecordError("mitdb", "missing_record", f"No usable MIT-BIH record in {data_dir!r}.")
    skipped_in = lambda records: _skipped_by_reason(records, skipped)
    fs = next(iter(per_record.values()))["fs"]
    binary = cfg.task == "binary"

    def assemble(records) -> tuple[Split, dict]:
        xs, ys, rrs, ids, beats, dropped = [], [], [], [], [], {}
        for r in records:
            if r in skipped:
                dropped[f"skipped_record:{skipped[r]}"] = dropped.get(f"skipped_record:{skipped[r]}", 0) + 1
                continue
            d = per_record[r]
            y = d["y"]
            keep = np.ones(len(y), bool)
            if binary:
                keep = y != 4
                dropped["q_class_in_binary"] = dropped.get("q_class_in_binary", 0) + int((~keep).sum())
                y = (y > 0).astype(np.int32)
            for reason, count in d["dropped"].items():
                dropped[reason] = dropped.get(reason, 0) + count
            xs.append(d["x"][keep]); ys.append(y[keep]); rrs.append(d["rr"][keep]); beats.append(d["beat"][keep])
            ids.append(np.full(int(keep.sum()), r))
        x = np.concatenate(xs) if xs else np.zeros((0, cfg.window_length, len(leads)), np.float32)
        cat = lambda parts, shape, dt: np.concatenate(parts) if parts else np.zeros(shape, dt)
        ids_ = cat(ids, (0,), str)
        x = preprocess.normalize_windows(x, cfg.normalize)
        if cfg.subtract_record_median:
            x = preprocess.subtract_record_median(x, ids_)
        split = make_split(x, cat(ys, (0,), np.int32),
                           ids_, ids_, cat(rrs, (0, len(RR_FEATURES)), np.float32),
                           beat=cat(beats, (0,), np.int64))
        return split, {k: v for k, v in dropped.items() if v}

    if cfg.intra_patient:
        return _intra_patient(cfg, assemble, fs, leads, binary, skipped_in(DS1 + DS2))
    ds1 = [r for r in DS1 if r in per_record]
    n_classes = 2 if binary else 5
    labels = [np.where(per_record[r]["y"] == 4, 0, per_record[r]["y"] > 0) if binary else per_record[r]["y"]
              for r in ds1]
    counts = np.stack([np.bincount(np.asarray(l, int), minlength=n_classes) for l in labels])
    val_records = choose_holdout_groups(ds1, counts, cfg.val_fraction, cfg.val_seed)
    train_records = [r for r in DS1 if r not in val_records]
    train, d_train = assemble(train_records)
    val, d_val = assemble(val_records)
    test, d_test = assemble(DS2)
    info = DatasetInfo(name="mitbih", task=cfg.task, class_names=BINARY_NAMES if binary else AAMI_CLASSES,
                       multilabel=False, sampling_rate=fs, lead_names=leads,
                       dropped={"train": d_train, "val": d_val, "test": d_test},
                       skipped={"train": skipped_in(train_records), "val": skipped_in(val_records),
                                "test": skipped_in(DS2)})
    warn_skipped("mitbih", info.skipped)
    return Splits(train=train, val=val, test=test, info=info)


def _skipped_by_reason(records, skipped: dict[str, str]) -> dict[str, list[str]]:
    """reason -> the ``records`` skipped for it (``skipped`` maps record -> reason)."""
    out: dict[str, list[str]] = {}
    for r in records:
        if r in skipped:
            out.setdefault(skipped[r], []).append(r)
    return out


def _intra_patient(cfg, assemble, fs, leads, binary, skipped=None) -> Splits:
    """LEAKY: all 44 records' beats shuffled into 60/20/20 (stratified by class, seeded)."""
    from sklearn.model_selection import train_test_split

    pooled, dropped = assemble(DS1 + DS2)
    idx = np.arange(len(pooled))
    train_idx, rest = train_test_split(idx, test_size=0.4, random_state=cfg.val_seed, stratify=pooled.y)
    val_idx, test_idx = train_test_split(rest, test_size=0.5, random_state=cfg.val_seed, stratify=pooled.y[rest])
    take = lambda i: make_split(pooled.x[i], pooled.y[i], pooled.record[i], pooled.patient[i], pooled.rr[i],
                                beat=pooled.beat[i])
    info = DatasetInfo(name="mitbih", task=cfg.task, class_names=BINARY_NAMES if binary else AAMI_CLASSES,
                       multilabel=False, sampling_rate=fs, lead_names=leads,
                       dropped={"train": dropped, "val": {}, "test": {}},
                       skipped={"train": skipped or {}, "val": {}, "test": {}})
    warn_skipped("mitbih", info.skipped)
    return Splits(train=take(train_idx), val=take(val_idx), test=take(test_idx), info=info)


DATASETS.register(DatasetSpec(
    name="mitbih",
    description="MIT-BIH Arrhythmia beats, de Chazal inter-patient DS1 (train/val by record) -> DS2 (test), AAMI classes, RR features",
    tasks=("aami5", "binary"),
    build=build,
    source_files=source_files,
    fields={"intra_patient": False, "window_offset": -1, "pad_edges": False, "subtract_record_median": False},
    docs={
        "intra_patient": "LEAKY intra-patient beat split (same patients in train and test). For comparison with leaky literature only; never report it as a result.",
        "window_offset": "Samples before the R peak in each beat window; -1 = window_length // 2 (centred).",
        "pad_edges": "Extend each record by its first/last value so that beats near its ends keep a whole window "
                     "(instead of being dropped); a long multi-beat teacher view uses it to see every student beat.",
        "subtract_record_median": "Subtract each record's median beat window (after normalisation) from its beats: "
                                  "morphology relative to the patient's own usual beat, which transfers across "
                                  "patients as the RR ratios do. Uses no labels (a test record's own beats).",
    },
    defaults={"leads": "MLII"},
    physionet=PhysioNetSource("mitdb", "mitdb", "RECORDS", extra_files=("RECORDS",)),
    rr_features=True,
))
