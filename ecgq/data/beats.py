"""Beat-annotated WFDB records as AAMI-labelled beat windows with RR context, for any database.

Why one module: every beat dataset (``mitbih``: the de Chazal protocol; ``wfdb_beats``: any WFDB
database with beat annotations) must give the same beat the same label, the same window and the
same RR features, so that a model trained on one can be scored on another. The AAMI mapping, the
window geometry (``window_length``, ``window_offset``, ``pad_edges``), the binary task and the
per-split assembly therefore live here once; the dataset modules only choose records and splits.

RR features are computed from the annotations at the record's own sampling rate, before any
resampling: an interval in seconds does not depend on the rate the windows are read at, so a
beat's RR context is identical in a 360 Hz view and a 128 Hz view of the same record.
"""

from __future__ import annotations

import os

import numpy as np
import wfdb

from ecgq.data import preprocess
from ecgq.data.errors import SKIP_HINT, RecordError
from ecgq.data.rr import RR_FEATURES, rr_features
from ecgq.data.types import Split, make_split

TASKS = ("aami5", "binary")
AAMI_CLASSES = ("N", "S", "V", "F", "Q")
AAMI = {**dict.fromkeys("NLRej", 0), **dict.fromkeys("AaJS", 1), **dict.fromkeys("VE", 2),
        "F": 3, **dict.fromkeys("/fQ", 4)}
# Every beat annotation code of the WFDB standard (non-beat codes such as + ~ | " are excluded).
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")
BINARY_NAMES = ("N", "abnormal")
Q_CLASS = AAMI_CLASSES.index("Q")


def class_names(task: str) -> tuple[str, ...]:
    """Class names of a beat task: the five AAMI classes, or normal vs abnormal (Q left out)."""
    return BINARY_NAMES if task == "binary" else AAMI_CLASSES


def read_beats(path: str, annotator: str = "atr", fix: str = "re-download the record") -> tuple[np.ndarray, np.ndarray]:
    """(sample, symbol) of every annotation of record ``path`` in its ``annotator`` file.

    A missing file and an unreadable one are different problems (reasons ``missing_annotation`` /
    ``corrupt_record``); ``fix`` is what the message suggests for the first (a dataset that lets the
    user choose the annotator says so).
    """
    record = os.path.basename(path)
    file = f"{path}.{annotator}"
    if not os.path.exists(file):
        raise RecordError(record, "missing_annotation", f"Record {path} has no annotation file {file}; "
                          f"{fix}, or {SKIP_HINT}.")
    try:
        ann = wfdb.rdann(path, annotator)
    except Exception as error:  # wfdb raises many types for malformed annotation files
        raise RecordError(record, "corrupt_record", f"Cannot read annotations {file} ({error}); "
                          f"re-download the record or {SKIP_HINT}.") from error
    return np.asarray(ann.sample, dtype=np.int64), np.asarray(ann.symbol)


def beat_windows(signal: np.ndarray, fs: float, samples: np.ndarray, symbols: np.ndarray, cfg) -> dict:
    """One record's beat windows: conditioned, resampled to ``cfg.target_rate``, cut around each beat.

    ``signal`` is (time, leads) in physical units at ``fs``; ``samples`` / ``symbols`` are its
    annotations. Returns x (n, window_length, leads) float32, y (n,) AAMI index, rr (n, 7) at the
    source rate, beat (n,) source-rate sample of each beat, dropped (reason -> count) and fs (the
    windows' rate). Non-beat annotations are ignored; beats without an AAMI class and beats whose
    window leaves the record (unless ``cfg.pad_edges``) are dropped and counted.
    """
    signal = preprocess.condition_record(signal, fs, cfg)
    is_beat = np.isin(symbols, list(BEAT_SYMBOLS))
    beat_ids, beat_symbols = samples[is_beat], symbols[is_beat]
    rr = rr_features(beat_ids, fs)
    beat_samples = beat_ids
    if cfg.target_rate and cfg.target_rate != fs:
        signal = preprocess.resample(signal, fs, cfg.target_rate)
        beat_samples = np.round(beat_ids * cfg.target_rate / fs).astype(np.int64)
        fs = float(cfg.target_rate)
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
    if len(signal) >= length:
        view = np.lib.stride_tricks.sliding_window_view(signal, length, axis=0)  # (T-L+1, leads, L)
        x = view[start[keep]].transpose(0, 2, 1).astype(np.float32)
    else:  # a record shorter than one window holds no whole window (keep is all False)
        x = np.zeros((0, length, signal.shape[1]), np.float32)
    return {"x": x, "y": label[keep], "rr": rr[keep], "beat": beat_ids[keep], "dropped": dropped,
            "fs": float(fs)}


def task_labels(y: np.ndarray, task: str) -> tuple[np.ndarray, np.ndarray]:
    """(keep mask, labels of the kept beats) for ``task``: binary drops Q and maps S, V, F to 1."""
    if task != "binary":
        return np.ones(len(y), bool), y
    keep = y != Q_CLASS
    return keep, (y[keep] > 0).astype(np.int32)


def holdout_counts(per_record: dict[str, dict], records, task: str) -> np.ndarray:
    """(n_records, n_classes) beat counts that stratify a whole-record holdout (binary: Q as N)."""
    binary = task == "binary"
    n_classes = len(class_names(task))
    rows = []
    for r in records:
        y = per_record[r]["y"]
        labels = np.where(y == Q_CLASS, 0, y > 0) if binary else y
        rows.append(np.bincount(np.asarray(labels, int), minlength=n_classes))
    return np.stack(rows) if rows else np.zeros((0, n_classes), int)


def assemble(per_record: dict[str, dict], records, skipped: dict[str, str], cfg, n_leads: int,
             patient_of: dict[str, str] | None = None) -> tuple[Split, dict[str, int]]:
    """One split from the beats of ``records`` (in that order), with its drop counts.

    ``skipped`` maps a record skipped under ``skip_bad_records`` to its reason (counted as
    ``skipped_record:<reason>``); ``patient_of`` maps a record to its patient (default: itself).
    Windows are normalised (``cfg.normalize``) and, with ``cfg.subtract_record_median``, made
    relative to their record's median beat after the task's beats are chosen.
    """
    xs, ys, rrs, ids, pats, beats, dropped = [], [], [], [], [], [], {}
    for r in records:
        if r in skipped:
            key = f"skipped_record:{skipped[r]}"
            dropped[key] = dropped.get(key, 0) + 1
            continue
        d = per_record[r]
        keep, y = task_labels(d["y"], cfg.task)
        if cfg.task == "binary":
            dropped["q_class_in_binary"] = dropped.get("q_class_in_binary", 0) + int((~keep).sum())
        for reason, count in d["dropped"].items():
            dropped[reason] = dropped.get(reason, 0) + count
        n = int(keep.sum())
        xs.append(d["x"][keep]); ys.append(y); rrs.append(d["rr"][keep]); beats.append(d["beat"][keep])
        ids.append(np.full(n, r)); pats.append(np.full(n, (patient_of or {}).get(r, r)))
    cat = lambda parts, shape, dt: np.concatenate(parts) if parts else np.zeros(shape, dt)
    x = cat(xs, (0, int(cfg.window_length), n_leads), np.float32)
    record_ids = cat(ids, (0,), str)
    x = preprocess.normalize_windows(x, cfg.normalize)
    if cfg.subtract_record_median:
        x = preprocess.subtract_record_median(x, record_ids)
    split = make_split(x, cat(ys, (0,), np.int32), record_ids, cat(pats, (0,), str),
                       cat(rrs, (0, len(RR_FEATURES)), np.float32), beat=cat(beats, (0,), np.int64))
    return split, {k: v for k, v in dropped.items() if v}


def skipped_by_reason(records, skipped: dict[str, str]) -> dict[str, list[str]]:
    """reason -> the ``records`` skipped for it (``skipped`` maps record -> reason)."""
    out: dict[str, list[str]] = {}
    for r in records:
        if r in skipped:
            out.setdefault(skipped[r], []).append(r)
    return out
