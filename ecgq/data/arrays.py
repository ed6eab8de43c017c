"""Labelled arrays as Splits: a ``.npz`` file or a UCR-archive dataset (``NAME_TRAIN`` / ``NAME_TEST``).

Why: ECG (and other time-series) benchmarks are often published as arrays rather than WFDB records
(ECG5000, ECG200, the MIT-BIH beat CSVs, a lab's own export); they should train and test the same
models without a converter. ``data.data_dir`` is the ``.npz`` file, a UCR ``NAME_TRAIN.*`` file, or
a folder holding one ``.npz`` or one UCR dataset (``arrays.ucr_name`` picks one of several, also in
a per-dataset sub-folder as in the UCR archive).

- ``.npz``: keys ``x``, ``y`` (one pool: test and validation are carved from it), or ``x_train``,
  ``y_train``, ``x_test``, ``y_test`` with optional ``x_val``, ``y_val`` (validation carved from
  train when absent). Optional ``record`` / ``patient`` (``record_train``, ``patient_test``, ...)
  name each example's source, so carved splits keep whole records/patients apart; optional
  ``lead_names`` names the channels. Object arrays are refused (no pickle is ever loaded).
- UCR: ``.tsv`` (2018 archive), ``.txt`` / no extension (older archives; comma or whitespace
  separated), label first; or ``.ts`` (sktime/aeon format; equal-length series, uni- or
  multivariate, no time stamps).

x is (n, time) or (n, time, channels), made float32 channels-last. Labels of any type (strings,
ints, UCR's "-1"/"1" floats) become contiguous class indices: numeric labels (also numeric
strings, so "1" and "1.0" are one class) in numeric order, others in string order; the mapping is
``DatasetInfo.class_names`` (the studies write it as ``label_map.json`` beside their report).
Carved splits are stratified by class, seeded by ``data.val_seed``, whole groups when the file
names records or patients (else single examples, every class with two or more examples on both
sides).
"""

from __future__ import annotations

import glob
import logging
import os
import zipfile

import numpy as np

from ecgq.data import preprocess
from ecgq.data.errors import DataError
from ecgq.data.registry import DATASETS, DatasetSpec
from ecgq.data.splitting import choose_holdout_groups, counts_by_group
from ecgq.data.types import DatasetInfo, Splits, make_split
from ecgq.data.wfdb_io import parse_leads

log = logging.getLogger("ecgq.data")

SPLITS = ("train", "val", "test")
UCR_EXTENSIONS = (".tsv", ".ts", ".txt", "")
NPZ_HELP = ("a .npz needs x,y (one pool) or x_train,y_train,x_test,y_test (optional x_val,y_val); "
            "optional record/patient arrays (record_train, ...) and lead_names")


# ----------------------------------------------------------------------------- locating the files

def _ucr_pair(folder: str, name: str) -> dict[str, str] | None:
    """{'train': path, 'test': path} of UCR dataset ``name`` in ``folder`` (first extension found)."""
    for ext in UCR_EXTENSIONS:
        train, test = (os.path.join(folder, f"{name}_{part}{ext}") for part in ("TRAIN", "TEST"))
        if os.path.isfile(train):
            if not os.path.isfile(test):
                raise DataError(f"UCR dataset {name}: {train!r} has no {os.path.basename(test)!r} beside it; "
                                "a UCR dataset is a NAME_TRAIN and a NAME_TEST file.")
            return {"train": train, "test": test}
    return None


def locate(cfg, data_dir: str) -> tuple[str, dict[str, str]]:
    """("npz", {"file": path}) or ("ucr", {"train": path, "test": path}) for data_dir / arrays.ucr_name."""
    name = str(cfg.arrays.ucr_name).strip()
    if os.path.isfile(data_dir):
        base = os.path.basename(data_dir)
        if base.endswith(".npz"):
            return "npz", {"file": data_dir}
        stem = os.path.splitext(base)[0]
        if stem.endswith("_TRAIN"):
            pair = _ucr_pair(os.path.dirname(data_dir), stem[: -len("_TRAIN")])
            if pair is not None:
                return "ucr", pair
        raise DataError(f"arrays: {data_dir!r} is neither a .npz file nor a UCR NAME_TRAIN file; point "
                        "data.data_dir at one, or at the folder that holds it.")
    if not os.path.isdir(data_dir):
        raise DataError(f"arrays: {data_dir!r} does not exist (--config.data.data_dir); point it at a .npz "
                        "file or a UCR dataset folder.")
    if name:
        for folder in (data_dir, os.path.join(data_dir, name)):
            pair = _ucr_pair(folder, name)
            if pair is not None:
                return "ucr", pair
        raise DataError(f"arrays: no UCR dataset {name!r} in {data_dir!r} (looked for {name}_TRAIN with "
                        f"extensions {[e or '(none)' for e in UCR_EXTENSIONS]} there and in {name}/); fix "
                        "data.arrays.ucr_name or data.data_dir.")
    names = sorted({os.path.basename(p).split("_TRAIN")[0]
                    for p in glob.glob(os.path.join(glob.escape(data_dir), "*_TRAIN*"))})
    npz = sorted(glob.glob(os.path.join(glob.escape(data_dir), "*.npz")))
    if len(names) + len(npz) == 1:
        return ("ucr", _ucr_pair(data_dir, names[0]) or {}) if names else ("npz", {"file": npz[0]})
    if not names and not npz:
        raise DataError(f"arrays: {data_dir!r} holds no .npz file and no UCR NAME_TRAIN file; point "
                        "data.data_dir at the data.")
    raise DataError(f"arrays: {data_dir!r} holds several datasets (UCR {names}, npz "
                    f"{[os.path.basename(p) for p in npz]}); point data.data_dir at the .npz file or set "
                    "data.arrays.ucr_name.")


# ----------------------------------------------------------------------------- reading

def _npz_array(z, path: str, key: str) -> np.ndarray:
    try:
        return z[key]
    except ValueError as error:  # object arrays need pickle, which is never allowed
        raise DataError(f"{path}: key {key!r} is an object array ({error}); save it with a plain dtype "
                        "(strings: np.asarray(values, dtype=str)).") from None


def read_npz(path: str) -> tuple[dict[str, dict[str, np.ndarray]], np.ndarray | None]:
    """({"pool"|"train"|"val"|"test": {"x", "y"[, "record"][, "patient"]}}, lead_names or None)."""
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise DataError(f"Cannot read {path!r} as a .npz file ({error}); {NPZ_HELP}.") from None
    with z:
        keys = set(z.files)
        if "x" in keys or "y" in keys:
            if keys & {"x_train", "y_train", "x_test", "y_test"}:
                raise DataError(f"{path} has both x/y and x_train/... keys ({sorted(keys)}); keep one layout: {NPZ_HELP}.")
            parts = {"pool": ""}
            required = ["x", "y"]
        else:
            parts = {s: f"_{s}" for s in SPLITS if s != "val" or {"x_val", "y_val"} & keys}
            required = [f"{k}{suffix}" for suffix in parts.values() for k in ("x", "y")]
        missing = [k for k in required if k not in keys]
        if missing:
            raise DataError(f"{path} lacks key {missing[0]!r} (it has {sorted(keys)}); {NPZ_HELP}.")
        out = {}
        for part, suffix in parts.items():
            arrays = {"x": _npz_array(z, path, f"x{suffix}"), "y": _npz_array(z, path, f"y{suffix}")}
            for extra in ("record", "patient"):
                if f"{extra}{suffix}" in keys:
                    arrays[extra] = _npz_array(z, path, f"{extra}{suffix}")
            out[part] = _checked(arrays, path, suffix)
        lead_names = _npz_array(z, path, "lead_names") if "lead_names" in keys else None
    return out, lead_names


def _checked(arrays: dict[str, np.ndarray], path: str, suffix: str) -> dict[str, np.ndarray]:
    """x as float (n, time, channels), one label per example, ids as str; errors name the key."""
    x, y = arrays["x"], arrays["y"]
    if x.ndim not in (2, 3) or x.dtype.kind not in "biuf":
        raise DataError(f"{path}: x{suffix} must be numeric (n, time) or (n, time, channels), got "
                        f"{x.dtype} {x.shape}.")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise DataError(f"{path}: y{suffix} must hold one label per example, shape (n,), got {y.shape} (one-hot "
                        "labels: store y.argmax(1)).")
    if len(x) == 0:
        raise DataError(f"{path}: x{suffix} holds no examples.")
    out = {"x": x[..., None] if x.ndim == 2 else x, "y": y,
           "row": np.char.add(f"{suffix.lstrip('_') or 'pool'}:", np.arange(len(x)).astype(str))}
    for key, values in arrays.items():
        if len(values) != len(x):
            raise DataError(f"{path}: {key}{suffix} has {len(values)} rows, x{suffix} has {len(x)}; one per example.")
        if key in ("record", "patient"):
            out[key] = np.asarray(values).astype(str)
    bad = ~np.isfinite(out["x"]).reshape(len(x), -1).all(axis=1)
    if bad.any():
        raise DataError(f"{path}: x{suffix} has NaN/inf in {int(bad.sum())} example(s) (first: row "
                        f"{int(np.flatnonzero(bad)[0])}); variable-length series padded with NaN must be "
                        "resampled or padded to one length first.")
    return out


def _delimited(path: str) -> tuple[np.ndarray, np.ndarray]:
    """A UCR text file: one example per line, label first, tab-, comma- or whitespace-separated."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = [line.strip() for line in handle if line.strip()]
    if not lines:
        raise DataError(f"UCR file {path!r} is empty.")
    delimiter = "\t" if "\t" in lines[0] else "," if "," in lines[0] else None
    rows = [[cell.strip() for cell in line.split(delimiter)] for line in lines]
    width = len(rows[0])
    for i, row in enumerate(rows):
        if len(row) != width:
            raise DataError(f"UCR file {path!r}: line {i + 1} has {len(row)} fields, line 1 has {width}; "
                            "series of unequal length must be resampled or padded to one length first.")
    if width < 2:
        raise DataError(f"UCR file {path!r} has no values after the label on line 1.")
    table = np.array(rows, dtype=str)
    try:
        values = table[:, 1:].astype(np.float64)
    except ValueError as error:
        raise DataError(f"UCR file {path!r} has a non-numeric value ({error}); only the first column "
                        "(the label) may be text.") from None
    return values[..., None], table[:, 0]


def _ts(path: str) -> tuple[np.ndarray, np.ndarray]:
    """A ``.ts`` file (sktime/aeon): @-tags, then ``@data`` lines ``dim1:dim2:...:label``."""
    header, rows = {}, []
    with open(path, encoding="utf-8", errors="replace") as handle:
        in_data = False
        for number, line in enumerate(handle, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if in_data:
                rows.append((number, line))
            elif line.startswith("@"):
                tag, _, value = line[1:].partition(" ")
                in_data = tag.lower() == "data"
                header[tag.lower()] = value.strip().lower()
            else:
                raise DataError(f".ts file {path!r}: line {number} comes before @data but is no @tag line.")
    if not in_data or not rows:
        raise DataError(f".ts file {path!r} has no @data section with examples.")
    if header.get("timestamps", "false").startswith("true"):
        raise DataError(f".ts file {path!r} uses @timeStamps true, which is not read; export it without "
                        "time stamps (equal-length series).")
    if not header.get("classlabel", "").startswith("true"):
        raise DataError(f".ts file {path!r} declares no class labels (@classLabel true ...); arrays reads "
                        "classification problems only.")
    series, labels = [], []
    for number, line in rows:
        *dims, label = line.split(":")
        if not dims:
            raise DataError(f".ts file {path!r}: line {number} has no values before its label.")
        try:
            values = [np.array(d.replace("?", "nan").split(","), dtype=np.float64) for d in dims]
        except ValueError as error:
            raise DataError(f".ts file {path!r}: line {number} has a non-numeric value ({error}).") from None
        if len({len(v) for v in values}) != 1 or (series and (len(values), len(values[0])) != series[0].shape):
            raise DataError(f".ts file {path!r}: line {number} has {len(values)} dimension(s) of length(s) "
                            f"{sorted({len(v) for v in values})}, unlike the first example; equal-length "
                            "series only (resample or pad them first).")
        series.append(np.stack(values))
        labels.append(label.strip())
    return np.stack(series).transpose(0, 2, 1), np.array(labels, dtype=str)


def read_ucr(path: str, split: str) -> dict[str, np.ndarray]:
    """{"x": (n, time, channels), "y": labels, "row"} of one UCR file (``split``'s), checked like a .npz split."""
    x, y = _ts(path) if path.endswith(".ts") else _delimited(path)
    part = _checked({"x": x, "y": y}, path, "")
    return {**part, "row": np.char.add(f"{split}:", np.arange(len(x)).astype(str))}


# ----------------------------------------------------------------------------- labels and splits

def _label_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def class_mapping(labels: list[np.ndarray], path: str) -> tuple[tuple[str, ...], list[np.ndarray]]:
    """(class names, each array's int32 class indices) over the labels of every split together.

    Numeric labels, and text labels that all parse as numbers, are ordered as numbers; other text
    labels as strings. The order depends only on the set of labels, never on file order.
    """
    pooled = np.concatenate([np.asarray(v) for v in labels])
    if pooled.dtype.kind in "US":
        text = np.char.strip(pooled.astype(str))
        try:
            pooled = text.astype(np.float64)
        except ValueError:
            pooled = text
    if pooled.dtype.kind == "U":
        values, index = np.unique(pooled, return_inverse=True)
        names = tuple(str(v) for v in values)
    elif pooled.dtype.kind in "biuf":
        if pooled.dtype.kind == "f" and not np.isfinite(pooled).all():
            raise DataError(f"{path}: the labels contain NaN/inf; every example needs a class.")
        values, index = np.unique(pooled, return_inverse=True)
        names = tuple(str(bool(v)) if pooled.dtype.kind == "b" else _label_text(v) for v in values)
    else:
        raise DataError(f"{path}: labels of dtype {pooled.dtype} are not understood; use ints, floats or strings.")
    bounds = np.cumsum([0] + [len(v) for v in labels])
    return names, [index[a:b].astype(np.int32) for a, b in zip(bounds[:-1], bounds[1:])]


def _example_holdout(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Mask of examples held out: ``fraction`` of each class at random; a class with two or more
    examples keeps at least one on each side, a single example stays in."""
    rng = np.random.default_rng(seed)
    out = np.zeros(len(y), bool)
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = min(max(int(round(fraction * len(idx))), 1), len(idx) - 1)
        out[idx[:k]] = True
    return out


def holdout(part: dict[str, np.ndarray], fraction: float, seed: int) -> tuple[dict, dict]:
    """(kept, held out) rows of ``part``: whole patients (else records) when named, else examples."""
    y = part["y"]
    groups = part.get("patient", part.get("record"))
    if groups is None:
        mask = _example_holdout(y, fraction, seed)
    else:
        names, counts = counts_by_group(groups, y, int(y.max()) + 1 if len(y) else 1)
        chosen = choose_holdout_groups(names, counts, fraction, seed)
        mask = np.isin(groups, chosen)
    take = lambda m: {k: v[m] for k, v in part.items()}
    return take(~mask), take(mask)


def _check_groups_disjoint(parts: dict[str, dict[str, np.ndarray]], path: str) -> None:
    """Given splits must not share a patient (or record): that would leak it into the test score."""
    for key in ("patient", "record"):
        seen: dict[str, str] = {}
        for split, part in parts.items():
            for group in map(str, np.unique(part.get(key, np.array([], str)))):
                if group in seen and seen[group] != split:
                    raise DataError(f"{path}: {key} {group!r} is in both {key}_{seen[group]} and {key}_{split}; "
                                    "given splits must be disjoint by record and patient. Fix the arrays.")
                seen[group] = split


def _signals(x: np.ndarray, cfg, path: str) -> tuple[np.ndarray, float]:
    """Optional filtering and resampling along time (they need data.sampling_rate), then normalisation."""
    fs = float(cfg.sampling_rate)
    wants_rate = cfg.bandpass or cfg.baseline_removal or float(cfg.notch_hz) > 0 or float(cfg.target_rate) > 0
    if wants_rate and fs <= 0:
        raise DataError(f"arrays ({path}): data.bandpass / notch_hz / baseline_removal / target_rate need the "
                        "arrays' rate: set data.sampling_rate (Hz), or switch those off.")
    if fs > 0 and wants_rate:
        n, t, c = x.shape
        flat = x.transpose(1, 0, 2).reshape(t, n * c)  # one column per example and channel
        flat = preprocess.resample(preprocess.condition_record(flat, fs, cfg), fs, float(cfg.target_rate) or fs)
        x = flat.reshape(len(flat), n, c).transpose(1, 0, 2)
        fs = float(cfg.target_rate) or fs
    mode = "window" if cfg.normalize in ("window", "record") else cfg.normalize  # an example is its record
    return preprocess.normalize_windows(np.asarray(x, np.float64), mode), fs


def _channel_names(n_channels: int, stored: np.ndarray | None, cfg, path: str) -> tuple[str, ...]:
    """arrays.lead_names, else the file's lead_names key, else ch0, ch1, ..."""
    names = parse_leads(cfg.arrays.lead_names)
    if not names and stored is not None:
        names = tuple(str(n) for n in np.asarray(stored).reshape(-1))
    names = names or tuple(f"ch{i}" for i in range(n_channels))
    if len(names) != n_channels:
        raise DataError(f"{path}: {len(names)} lead name(s) {list(names)} for {n_channels} channel(s); fix "
                        "data.arrays.lead_names (or the file's lead_names key).")
    return names


def build(cfg, data_dir: str) -> Splits:
    kind, files = locate(cfg, data_dir)
    if kind == "npz":
        path = files["file"]
        parts, stored_names = read_npz(path)
    else:
        path = files["train"]
        parts, stored_names = {s: read_ucr(files[s], s) for s in ("train", "test")}, None
    shapes = {p: part["x"].shape[1:] for p, part in parts.items()}
    if len(set(shapes.values())) > 1:
        raise DataError(f"{path}: the splits' series differ in shape (time, channels) {shapes}; resample or pad "
                        "them to one shape.")
    names, indices = class_mapping([part["y"] for part in parts.values()], path)
    for part, y in zip(parts.values(), indices):
        part["y"] = y
    if "pool" in parts:
        rest, test = holdout(parts.pop("pool"), cfg.test_fraction, cfg.val_seed + 1)
        parts = {"train": rest, "test": test}
    _check_groups_disjoint(parts, path)
    if "val" not in parts:
        parts["train"], parts["val"] = holdout(parts["train"], cfg.val_fraction, cfg.val_seed)
    lead_names = _channel_names(next(iter(shapes.values()))[1], stored_names, cfg, path)
    wanted = parse_leads(cfg.leads)
    missing = [lead for lead in wanted if lead not in lead_names]
    if missing:
        raise DataError(f"{path} has no channel {missing} (its channels are {list(lead_names)}); fix data.leads "
                        "or data.arrays.lead_names.")
    channels = [lead_names.index(lead) for lead in wanted] or list(range(len(lead_names)))
    splits, fs = {}, 0.0
    for s in SPLITS:
        part = parts[s]
        x, fs = _signals(part["x"][:, :, channels].astype(np.float64), cfg, path)
        record = part.get("record", part.get("patient", part["row"]))  # else the file's row: "train:17"
        splits[s] = make_split(x, part["y"], record, part.get("patient", record))
    absent = sorted(set(range(len(names))) - set(np.unique(splits["train"].y).tolist()))
    if absent:
        log.warning("arrays: class(es) %s of %s have no training example.", [names[c] for c in absent], path)
    info = DatasetInfo(name="arrays", task=cfg.task, class_names=names, multilabel=False, sampling_rate=fs,
                       lead_names=tuple(lead_names[c] for c in channels),
                       dropped={s: {} for s in SPLITS}, skipped={s: {} for s in SPLITS})
    return Splits(info=info, **splits)


def source_files(cfg, data_dir: str) -> list[str]:
    _, files = locate(cfg, data_dir)
    return list(files.values())


def check(cfg, data_dir: str) -> None:
    """Cheap pre-flight: the files are found, and filters have the rate they need."""
    _, files = locate(cfg, data_dir)
    if float(cfg.sampling_rate) <= 0 and (cfg.bandpass or cfg.baseline_removal or float(cfg.notch_hz) > 0
                                          or float(cfg.target_rate) > 0):
        raise DataError(f"arrays ({next(iter(files.values()))}): data.bandpass / notch_hz / baseline_removal / "
                        "target_rate need the arrays' rate: set data.sampling_rate (Hz), or switch those off.")


DATASETS.register(DatasetSpec(
    name="arrays",
    description="Labelled arrays: a .npz (x,y or x_train/y_train/...; optional record/patient) or a UCR "
                "dataset (.tsv, .txt, .ts); labels of any type mapped to sorted class indices",
    tasks=("labels",),
    build=build,
    source_files=source_files,
    fields={"arrays": {"ucr_name": "", "lead_names": ""}},
    docs={
        "arrays.ucr_name": "UCR dataset NAME (files NAME_TRAIN / NAME_TEST in data_dir or data_dir/NAME); '' = "
                           "data_dir is the .npz or NAME_TRAIN file itself, or a folder holding just one dataset.",
        "arrays.lead_names": "Comma-separated names of x's channels; '' = the file's lead_names key, else ch0, ch1, ...",
    },
    defaults={"bandpass": False, "notch_hz": 0.0, "normalize": "none"},
    check=check,
))
