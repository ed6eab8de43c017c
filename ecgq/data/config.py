"""The data sub-config: every field any loader reads, each documented in ``FIELD_DOCS``.

One flat ConfigDict for all datasets (fields a dataset does not use are ignored by it) so that
``--config.data.<field>=...`` overrides work for every study and ``launch.py --helpfull`` can
document them. ``data_config(name)`` only changes the defaults that differ between datasets.
"""

from __future__ import annotations

import ml_collections

DATASETS = ("synthetic", "mitbih", "ptbxl", "wfdb_folder")

# Tasks each dataset offers; the first is the default.
TASKS: dict[str, tuple[str, ...]] = {
    "synthetic": ("binary", "multiclass"),
    "mitbih": ("aami5", "binary"),
    "ptbxl": ("superdiagnostic", "binary"),
    "wfdb_folder": ("labels",),
}

FIELD_DOCS: dict[str, str] = {
    "name": f"Dataset: one of {list(DATASETS)}.",
    "data_dir": "Folder of the raw data; '' = $ECGQ_DATA/mitdb or $ECGQ_DATA/ptbxl_subset500 (mitbih/ptbxl).",
    "task": "Labelling task: synthetic binary|multiclass; mitbih aami5|binary; ptbxl superdiagnostic|binary; wfdb_folder labels.",
    "cache": "Cache processed arrays on disk (keyed by source files' identity + this config); False rebuilds.",
    "cache_dir": "Cache folder; '' = $ECGQ_CACHE or ~/.cache/ecgq.",
    "download": "If data_dir is missing, download MIT-BIH / PTB-XL from PhysioNet into it (needs network).",
    "skip_bad_records": "Skip (and count in info.dropped) records that are missing, corrupt, NaN/flat or lack the lead, instead of failing.",
    "val_fraction": "Fraction of training records/patients held out for validation (mitbih: whole DS1 records; wfdb_folder without split column; synthetic).",
    "val_seed": "Seed of the validation / random split (independent of the model seed).",
    "intra_patient": "mitbih only: LEAKY intra-patient beat split (same patients in train and test). For comparison with leaky literature only; never report it as a result.",
    "window_length": "Samples per window (mitbih: per beat; synthetic: per example).",
    "window_offset": "mitbih: samples before the R peak in each window; -1 = window_length // 2 (centred).",
    "leads": "Comma-separated lead names selected by sig_name (mitbih default MLII); '' = all leads of the record.",
    "sampling_rate": "ptbxl: 100 or 500 Hz source files; synthetic: generated rate in Hz.",
    "target_rate": "Resample to this rate in Hz after filtering; 0 = keep the source rate (wfdb_folder: rate of the first record).",
    "crop_length": "ptbxl / wfdb_folder: samples per crop after resampling; 0 = whole record (wfdb_folder: pads/crops to the first record's length).",
    "crop_stride": "ptbxl / wfdb_folder: stride between crops; 0 = one crop per record from its start (padding if short).",
    "bandpass": "Apply a zero-phase Butterworth band-pass (bandpass_low..bandpass_high Hz) per record before windowing.",
    "bandpass_low": "Band-pass low cut in Hz (ECGFounder uses 0.67).",
    "bandpass_high": "Band-pass high cut in Hz (ECGFounder uses 40); clipped below Nyquist.",
    "notch_hz": "Mains notch frequency in Hz (50 in Europe, 60 in the US); 0 or >= Nyquist disables it.",
    "baseline_removal": "Subtract a two-stage moving median (0.2 s, 0.6 s) baseline per record (slower; band-pass already removes most wander).",
    "normalize": "'window' = z-score each window per lead; 'record' = z-score each record per lead before windowing; 'none'.",
    "labels_csv": "wfdb_folder: CSV with columns record,label[,split][,patient]; relative paths are inside data_dir.",
    "labels": "wfdb_folder: comma-separated label names in class-index order; '' = the CSV's labels sorted. A CSV label not listed is an error.",
    "synthetic.n_train": "synthetic: number of training examples.",
    "synthetic.n_val": "synthetic: number of validation examples.",
    "synthetic.n_test": "synthetic: number of test examples.",
    "synthetic.n_leads": "synthetic: number of leads generated.",
    "synthetic.examples_per_patient": "synthetic: windows per synthetic patient (patients never cross splits).",
    "synthetic.noise": "synthetic: standard deviation of white noise relative to the R amplitude.",
    "synthetic.seed": "synthetic: generator seed (same seed and config -> identical arrays).",
}


def data_config(name: str = "synthetic") -> ml_collections.ConfigDict:
    """All data fields with defaults suited to ``name`` (see ``FIELD_DOCS``)."""
    if name not in DATASETS:
        from ecgq.data.errors import DataError

        raise DataError(f"Unknown dataset {name!r}; choose one of {list(DATASETS)}.")
    c = ml_collections.ConfigDict()
    c.name = name
    c.data_dir = ""
    c.task = TASKS[name][0]
    c.cache = True
    c.cache_dir = ""
    c.download = False
    c.skip_bad_records = False
    c.val_fraction = 0.2
    c.val_seed = 0
    c.intra_patient = False
    c.window_length = 256
    c.window_offset = -1
    c.leads = "MLII" if name == "mitbih" else ""
    c.sampling_rate = {"ptbxl": 100, "synthetic": 100}.get(name, 0)
    c.target_rate = 0
    c.crop_length = 0
    c.crop_stride = 0
    c.bandpass = name != "synthetic"
    c.bandpass_low = 0.67
    c.bandpass_high = 40.0
    c.notch_hz = 50.0 if name != "synthetic" else 0.0
    c.baseline_removal = False
    c.normalize = "window"
    c.labels_csv = "labels.csv"
    c.labels = ""
    c.synthetic = ml_collections.ConfigDict()
    c.synthetic.n_train = 2000
    c.synthetic.n_val = 500
    c.synthetic.n_test = 500
    c.synthetic.n_leads = 1
    c.synthetic.examples_per_patient = 10
    c.synthetic.noise = 0.05
    c.synthetic.seed = 0
    return c


def check_task(name: str, task: str) -> None:
    """Fail with the valid choices when ``task`` is not offered by dataset ``name``."""
    from ecgq.data.errors import DataError

    if name not in TASKS:
        raise DataError(f"Unknown dataset {name!r}; choose one of {list(DATASETS)}.")
    if task not in TASKS[name]:
        raise DataError(f"Unknown task {task!r} for dataset {name!r}; choose one of {list(TASKS[name])}.")
