"""New data brought to a trained model's view: rate, window, leads, preprocessing, RR, class indices.

Why one module: a model scored on another database must read windows made exactly as its training
windows were (``ecgq.studies.model_views`` saved that view), and its logits must be compared with
labels in its own class order. Everything that can go wrong here is a user's choice of data, so
each failure is one ``UserError`` naming the flag and the fix; nothing here writes files.
"""

from __future__ import annotations

import dataclasses

import ml_collections
import numpy as np

from ecgq.errors import ConfigError, UserError
from ecgq.studies.model_views import VIEW_FIELDS


def view_data_config(data_cfg: ml_collections.ConfigDict, view: dict) -> ml_collections.ConfigDict:
    """``data_cfg`` (the new dataset) with the view's geometry: resampled to the training rate, the
    training leads (by name; ``wfdb_beats`` falls back through ``lead_fallback``), the same window
    and preprocessing. The task becomes the trained one when the user left the dataset's default
    and the new dataset offers it (a beat database scored by a binary MIT-BIH model reads ``binary``)."""
    from ecgq.data import data_config
    from ecgq.data.registry import dataset

    fields = data_cfg.to_dict()
    fields.update({field: view["preprocess"][field] for field in VIEW_FIELDS})
    rate = float(view["sampling_rate"])
    fields["target_rate"] = int(rate) if rate.is_integer() else rate  # the field is an int; 62.5 Hz stays
    fields["leads"] = ",".join(view["lead_names"])
    if fields["task"] == data_config(fields["name"]).task and view["task"] in dataset(fields["name"]).tasks:
        fields["task"] = view["task"]
    return ml_collections.ConfigDict(fields)


def parse_class_map(text: str) -> dict[str, str]:
    """'NEW:TRAINED,NEW2:TRAINED' -> {new: trained}; '' -> {} (classes mapped by equal names)."""
    out: dict[str, str] = {}
    for part in (p.strip() for p in str(text).split(",") if p.strip()):
        new, sep, trained = part.partition(":")
        if not sep or not new.strip() or not trained.strip():
            raise ConfigError(f"--config.class_map: {part!r} is not NEW:TRAINED; write e.g. "
                              "--config.class_map=normal:N,arrhythmia:abnormal.")
        if new.strip() in out:
            raise ConfigError(f"--config.class_map maps class {new.strip()!r} twice; keep one entry.")
        out[new.strip()] = trained.strip()
    return out


def class_index(new_names, trained_names, class_map: str, multilabel: bool, dataset: str) -> np.ndarray:
    """Trained class index of every class of the new dataset (``--config.class_map`` first, then equal
    names); one error naming every class that cannot be mapped."""
    trained = list(trained_names)
    mapping = parse_class_map(class_map)
    bad_targets = sorted({t for t in mapping.values() if t not in trained})
    bad_sources = sorted(n for n in mapping if n not in new_names)
    if bad_targets or bad_sources:
        raise ConfigError(f"--config.class_map: {('trained classes ' + str(bad_targets)) if bad_targets else ''}"
                          f"{' and ' if bad_targets and bad_sources else ''}"
                          f"{('classes ' + str(bad_sources) + ' of ' + dataset) if bad_sources else ''} do not exist; "
                          f"the trained classes are {trained}, those of {dataset} {list(new_names)}.")
    index, unmapped = [], []
    for name in new_names:
        target = mapping.get(name, name)
        if target in trained:
            index.append(trained.index(target))
        else:
            unmapped.append(name)
    if unmapped:
        raise ConfigError(f"Classes {unmapped} of dataset {dataset!r} cannot be mapped onto the trained classes "
                          f"{trained}; give --config.class_map=NEW:TRAINED,... (e.g. {unmapped[0]}:{trained[-1]}) "
                          "or choose the task (--config.data.task) that the models were trained on.")
    if multilabel and index != list(range(len(trained))):
        raise ConfigError(f"Multi-label dataset {dataset!r} has labels {list(new_names)}, the models {trained}; "
                          "multi-label scores need the same labels in the same order.")
    return np.asarray(index, np.int64)


def adapt_split(split, info, view: dict, index: np.ndarray, where: str):
    """``split`` relabelled in the trained class order, its shape checked against the view, and its RR
    features selected and standardised with the training split's statistics."""
    width = (view["window_length"], len(view["lead_names"]))
    if tuple(split.x.shape[1:]) != width:
        raise UserError(f"{where}: {info.name} gives windows of {split.x.shape[1]} samples x {split.x.shape[2]} "
                        f"leads, the models were trained on {width[0]} x {width[1]}; record datasets need "
                        f"--config.data.crop_length={width[0]} (and crop_stride), or pick leads with "
                        "--config.data.leads.")
    y = index[np.asarray(split.y).astype(np.int64)] if not info.multilabel else np.asarray(split.y)
    rr = None
    if view["rr_features"]:
        if split.rr is None:
            raise UserError(f"{where}: the models read RR features ({', '.join(view['rr_features'])}) but dataset "
                            f"{info.name!r} provides none; score them on a beat-annotated dataset (wfdb_beats).")
        from ecgq.data.rr import select_rr

        chosen = select_rr(split, tuple(view["rr_features"])).rr
        rr = ((chosen - np.asarray(view["rr_mean"], np.float32)) / np.asarray(view["rr_std"], np.float32))
        rr = rr.astype(np.float32)
    return dataclasses.replace(split, y=y.astype(split.y.dtype), rr=rr)


def same_database(view: dict, data_cfg) -> bool:
    """Whether ``data_cfg`` reads the database ``view`` was made from: the same resolved data folder
    (the same dataset name where a folder is unknown)."""
    from ecgq.studies.model_views import data_folder

    folder = data_folder(data_cfg)
    if folder and view["data_dir"]:
        return folder == view["data_dir"]
    return view["dataset"] == data_cfg.name


def overlap_with_training(views: dict, data_cfg, scored_records, scored_patients) -> tuple[list[str], bool]:
    """(records or patients scored here that some view trained or validated on, same database?).

    In the same database (:func:`same_database`) a shared id *is* a training recording; elsewhere
    ids such as '100' may name other recordings."""
    shared, same = set(), False
    for view in views.values():
        seen = set(view["records"]["train"]) | set(view["records"]["val"])
        patients = set(view["patients"]["train"]) | set(view["patients"]["val"])
        hits = (seen & set(scored_records)) | (patients & set(scored_patients))
        if hits:
            shared |= hits
            same |= same_database(view, data_cfg)
    return sorted(shared), same
