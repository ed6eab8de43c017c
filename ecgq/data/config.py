"""The data sub-config: the common fields every loader shares, plus each dataset's own fields.

One flat ConfigDict holds the common fields and the own fields of every registered dataset (a
dataset ignores the fields it does not read), so that ``--config.data.<field>=...`` lands whatever
``data.name`` is. ``data_config(name)`` applies that dataset's defaults (filters, task, leads);
``data_docs()`` is the help of every field, written by its owner (common fields here, own fields
in the dataset's module). ``check_data_config`` validates a config in milliseconds, before any
record is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ml_collections

from ecgq.data.errors import DataError
from ecgq.data.registry import DATASETS, dataset

NORMALIZATIONS = ("window", "record", "none")

COMMON_FIELDS: dict[str, Any] = {
    "name": "synthetic",
    "data_dir": "",
    "task": "",
    "cache": True,
    "cache_dir": "",
    "download": False,
    "physionet_db": "",
    "download_url": "",
    "skip_bad_records": False,
    "val_fraction": 0.2,
    "val_seed": 0,
    "test_fraction": 0.2,
    "window_length": 256,
    "window_offset": -1,
    "pad_edges": False,
    "subtract_record_median": False,
    "leads": "",
    "sampling_rate": 0,
    "target_rate": 0,
    "crop_length": 0,
    "crop_stride": 0,
    "bandpass": True,
    "bandpass_low": 0.67,
    "bandpass_high": 40.0,
    "notch_hz": 50.0,
    "baseline_removal": False,
    "normalize": "window",
}

COMMON_DOCS: dict[str, str] = {
    "name": "Dataset (a registered name; python -m ecgq.data --list shows them).",
    "data_dir": "Folder of the raw data; '' = $ECGQ_DATA/<the dataset's default folder> where it has one.",
    "task": "Labelling task ('' = the dataset's default); python -m ecgq.data --list shows each dataset's tasks.",
    "cache": "Cache processed arrays on disk (keyed by source files' identity + this config); False rebuilds.",
    "cache_dir": "Processed-data cache folder; '' = $ECGQ_CACHE or ~/.cache/ecgq. Unwritable: warns and goes on.",
    "download": "If data_dir lacks the dataset, download it from PhysioNet into data_dir (needs network); "
                "files arrive in a temporary folder, are checked against the database's SHA256SUMS.txt and "
                "only then moved into data_dir, so a failed download leaves nothing half-written there.",
    "physionet_db": "PhysioNet database to download, as slug or slug/version (incartdb, mitdb/1.0.0); '' = the "
                    "dataset's own (mitbih: mitdb, ptbxl: ptb-xl) at its latest version. Needed by datasets "
                    "without a fixed source (wfdb_beats); for the others only the version may be added.",
    "download_url": "Root of the PhysioNet file index to download from, in PhysioNet's layout "
                    "(<url>/<slug>/<version>/RECORDS ...); '' = $ECGQ_PHYSIONET_URL, else wfdb's index "
                    "(https://physionet.org/files/). A mirror needs the version named in physionet_db.",
    "skip_bad_records": "Skip (and name in the summary) records that are missing, corrupt, NaN/flat or lack the lead, instead of failing.",
    "val_fraction": "Fraction of training records/patients held out for validation (whole records or patients).",
    "val_seed": "Seed of the validation / random split (independent of the model seed).",
    "test_fraction": "Datasets split at random (wfdb_beats split='random', arrays given one pool x/y): fraction "
                     "of records/patients (arrays: groups, else examples) held out for test, before validation.",
    "window_length": "Samples per window (beat datasets: per beat; synthetic: per example).",
    "window_offset": "Beat datasets (mitbih, wfdb_beats): samples before the R peak in each beat window; "
                     "-1 = window_length // 2 (centred).",
    "pad_edges": "Beat datasets: extend each record by its first/last value so that beats near its ends keep a "
                 "whole window (instead of being dropped); a long multi-beat teacher view uses it to see every "
                 "student beat.",
    "subtract_record_median": "Beat datasets: subtract each record's median beat window (after normalisation) "
                              "from its beats: morphology relative to the patient's own usual beat, which "
                              "transfers across patients as the RR ratios do. Uses no labels (a test record's "
                              "own beats).",
    "leads": "Comma-separated lead names selected by sig_name; '' = all leads of the record.",
    "sampling_rate": "Source sampling rate in Hz where a dataset offers several (ptbxl: 100 or 500; synthetic: generated rate); 0 = the records' own.",
    "target_rate": "Resample to this rate in Hz after filtering; 0 = keep the source rate.",
    "crop_length": "Record datasets: samples per crop after resampling; 0 = whole record (padded/cropped to the first record's length).",
    "crop_stride": "Record datasets: stride between crops; 0 = one crop per record from its start (padding if short).",
    "bandpass": "Apply a zero-phase Butterworth band-pass (bandpass_low..bandpass_high Hz) per record before windowing.",
    "bandpass_low": "Band-pass low cut in Hz (ECGFounder uses 0.67).",
    "bandpass_high": "Band-pass high cut in Hz (ECGFounder uses 40); clipped below Nyquist.",
    "notch_hz": "Mains notch frequency in Hz (50 in Europe, 60 in the US); 0 or >= Nyquist disables it.",
    "baseline_removal": "Subtract a two-stage moving median (0.2 s, 0.6 s) baseline per record (slower; band-pass already removes most wander).",
    "normalize": f"Signal normalisation, one of {list(NORMALIZATIONS)}: z-score each window / each record per lead, or none.",
}


def _to_config(value: Any) -> Any:
    return ml_collections.ConfigDict(dict(value)) if isinstance(value, Mapping) else value


def data_config(name: str = "synthetic") -> ml_collections.ConfigDict:
    """Every data field, with the defaults of dataset ``name`` (see :func:`data_docs`)."""
    spec = dataset(name)
    c = ml_collections.ConfigDict()
    for key, value in COMMON_FIELDS.items():
        c[key] = value
    for other in DATASETS.entries():
        for key, value in other.fields.items():
            if key in c:
                raise RuntimeError(f"dataset {other.name!r} redefines data field {key!r}")
            c[key] = _to_config(value)
    for key, value in spec.defaults.items():
        if key not in c:
            raise RuntimeError(f"dataset {name!r} sets a default for unknown data field {key!r}")
        c[key] = value
    c.name = name
    c.task = spec.tasks[0]
    return c


def data_docs() -> dict[str, str]:
    """Help of every field of :func:`data_config`, each from the module that owns the field."""
    docs = dict(COMMON_DOCS)
    for spec in DATASETS.entries():
        docs.update({key: f"{spec.name}: {text}" for key, text in spec.docs.items()})
    return docs


def with_dataset_defaults(base: ml_collections.ConfigDict, cfg: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """``cfg`` itself, or, when its ``name`` differs from ``base``'s (a flag switched the dataset),
    a fresh ``data_config(cfg.name)`` with only the fields that differ from ``base`` re-applied: the
    new dataset brings its own filters, task and leads unless the user set them too."""
    if cfg.name == base.name:
        return cfg
    from ecgq.configs import apply_overrides, changed_leaves

    fresh = data_config(cfg.name)
    apply_overrides(fresh, changed_leaves(base, cfg), what="the data config")
    return fresh


def check_task(name: str, task: str) -> None:
    """Fail with the valid choices when ``task`` is not offered by dataset ``name``."""
    dataset(name).check_task(task)


def _require(condition: bool, field: str, message: str) -> None:
    if not condition:
        raise DataError(f"--config.{field}: {message}")


def check_data_config(cfg, where: str = "data", check_folder: bool = True) -> None:
    """Validate ``cfg`` without reading any record: dataset, task, numbers and the data folder.

    ``where`` is the config path of ``cfg`` (``data`` or ``teacher_data``), named in the errors.
    """
    from ecgq.data.download import check_data_dir, resolve_data_dir

    spec = dataset(cfg.name)
    if cfg.task not in spec.tasks:
        raise DataError(f"Unknown task {cfg.task!r} for dataset {cfg.name!r} (--config.{where}.task); "
                        f"choose one of {list(spec.tasks)}.")
    _require(0.0 < float(cfg.val_fraction) < 1.0, f"{where}.val_fraction", f"must be in (0, 1), got {cfg.val_fraction}.")
    _require(0.0 < float(cfg.test_fraction) < 1.0, f"{where}.test_fraction", f"must be in (0, 1), got {cfg.test_fraction}.")
    _require(int(cfg.window_length) > 0, f"{where}.window_length", f"must be positive, got {cfg.window_length}.")
    for field in ("target_rate", "crop_length", "crop_stride", "sampling_rate"):
        _require(float(cfg[field]) >= 0, f"{where}.{field}", f"must be >= 0 (0 = off), got {cfg[field]}.")
    _require(cfg.normalize in NORMALIZATIONS, f"{where}.normalize",
             f"must be one of {list(NORMALIZATIONS)}, got {cfg.normalize!r}.")
    if cfg.bandpass:
        _require(0 <= float(cfg.bandpass_low) < float(cfg.bandpass_high), f"{where}.bandpass_low",
                 f"the band {cfg.bandpass_low}..{cfg.bandpass_high} Hz is empty.")
    if check_folder and spec.needs_data_dir:
        data_dir = resolve_data_dir(cfg, spec)
        if check_data_dir(cfg, data_dir, spec) and spec.check is not None:
            spec.check(cfg, data_dir)
