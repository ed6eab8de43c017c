"""``model_inputs.json``: what each model of a distillation workdir was trained on, for a later reader.

Why a file of its own: scoring a finished study on another dataset (``experiments/evaluate.py``)
must bring the new data to exactly the view each model learned from (sampling rate, window, leads,
filters and normalisation, RR features with the *training* split's standardisation, class names)
and must know which records it trained and validated on, so that it never reports training patients
as held-out ones. ``config.json`` holds the configs; this file holds what the data turned out to be.
The distillation study writes it on every run (a re-run of a finished study only re-reports, so an
older workdir gains the file by running its command again).
"""

from __future__ import annotations

import os

import numpy as np

from ecgq.errors import UserError

FILE = "model_inputs.json"
VERSION = 1
# Data fields that shape a window after the records are read (the view); the rest (folder, splits,
# caching, task) belong to the dataset a model is scored on.
VIEW_FIELDS = ("window_length", "window_offset", "pad_edges", "subtract_record_median", "crop_length",
               "crop_stride", "bandpass", "bandpass_low", "bandpass_high", "notch_hz", "baseline_removal",
               "normalize")


def data_folder(data_cfg) -> str:
    """The resolved data folder (real path), or '' for datasets without one."""
    from ecgq.data.download import resolve_data_dir
    from ecgq.data.registry import dataset

    spec = dataset(data_cfg.name)
    if not spec.needs_data_dir:
        return ""
    try:
        return os.path.realpath(resolve_data_dir(data_cfg, spec))
    except UserError:
        return ""


def describe_view(data_cfg, splits, rr_names: tuple[str, ...] | None) -> dict:
    """One view: the dataset it came from, its geometry and preprocessing, its RR standardisation
    (mean and std of the training split, as ``ecgq.distill.arrays.standardize_rr`` applied them) and
    the records and patients of its train/val/test splits."""
    info = splits.info
    view = {
        "dataset": info.name, "data_dir": data_folder(data_cfg), "task": info.task,
        "class_names": list(info.class_names), "multilabel": bool(info.multilabel),
        "sampling_rate": float(info.sampling_rate), "lead_names": list(info.lead_names),
        "window_length": int(splits.train.x.shape[1]),
        "preprocess": {f: data_cfg[f] for f in VIEW_FIELDS},
        "rr_features": list(rr_names) if rr_names else None, "rr_mean": None, "rr_std": None,
        "records": {s: sorted(set(map(str, split.record))) for s, split in splits.items()},
        "patients": {s: sorted(set(map(str, split.patient))) for s, split in splits.items()},
    }
    if rr_names:
        rr = np.asarray(splits.train.rr, np.float32)
        view["rr_mean"] = rr.mean(axis=0).tolist()
        view["rr_std"] = np.maximum(rr.std(axis=0), 1e-6).tolist()
    return view


def write(workdir: str, config, splits, teacher_splits) -> str:
    """Write ``model_inputs.json`` for a distillation study's ``config`` and its loaded splits."""
    from ecgq.atomic import write_json_atomic
    from ecgq.data.rr import RR_FEATURES

    rr_names = None
    if config.use_rr:
        rr_names = tuple(config.get("rr_features", ())) or RR_FEATURES
    views = {"student": describe_view(config.data, splits, rr_names)}
    models = {name: {"view": "student", "role": "student"} for name in config.student_names}
    if teacher_splits is splits:
        models[config.teacher.name] = {"view": "student", "role": "teacher"}
    else:
        views["teacher"] = describe_view(config.teacher_data, teacher_splits, rr_names)
        models[config.teacher.name] = {"view": "teacher", "role": "teacher"}
    path = os.path.join(workdir, FILE)
    write_json_atomic(path, {"version": VERSION, "study_name": config.study_name, "views": views,
                             "models": models})
    return path


def read(workdir: str) -> dict:
    """The saved views of a finished distillation workdir; one clear error when there is none."""
    import json

    path = os.path.join(workdir, FILE)
    if not os.path.isdir(workdir):
        raise UserError(f"--config.source_workdir={workdir!r} is not a folder; point it at the --workdir of a "
                        "finished distillation study.")
    if not os.path.exists(os.path.join(workdir, "config.json")) or not os.path.isdir(os.path.join(workdir, "stages")):
        raise UserError(f"--config.source_workdir={workdir!r} holds no distillation study (no config.json and "
                        "stages/); point it at the --workdir of a finished one.")
    if not os.path.exists(path):
        raise UserError(f"--config.source_workdir={workdir!r} has no {FILE} (written by distillation studies "
                        "since issue 13); run the study's launch command on that workdir once more: a finished "
                        "study only re-reports and writes it.")
    with open(path) as handle:
        document = json.load(handle)
    if document.get("version") != VERSION:
        raise UserError(f"{path} has version {document.get('version')!r}, this code reads {VERSION}; re-run the "
                        "study's launch command on that workdir to rewrite it.")
    return document
