"""Any WFDB database with beat annotations, as AAMI beat windows (a test set for a MIT-BIH model, or
a training set of its own): INCART, the MIT-BIH Noise Stress Test, SVDB, ... or a folder of one's own.

Why: a beat classifier is only as good as its behaviour on patients, devices and leads it was not
trained on. Labels, windows and RR features are those of ``mitbih`` (``ecgq.data.beats``), so the
same model reads both; the windows are resampled to ``data.target_rate`` before they are cut (a
360 Hz model reads a 128 Hz database at 360 Hz), while RR intervals come from the annotations at
each record's own rate. Databases name their leads differently (MLII, II, ML2), so one lead is
chosen by name through ``wfdb_beats.lead_fallback``; a record that had to use a later choice is
named in a warning.

Records are those named in ``wfdb_beats.records``, else those listed in the folder's ``RECORDS``,
else every ``.hea`` under it. Splits are whole records (whole patients, given ``patients_csv``):
``random`` (seeded, stratified as far as possible: test_fraction, then val_fraction of the rest),
``all_test`` (the whole database scores a model trained elsewhere), ``all_train`` (val carved
from it, no test), or ``records`` (named lists). A record skipped under ``skip_bad_records`` is
counted under the split it was listed in (``random`` / ``all_train``: train, ``all_test``: test).
"""

from __future__ import annotations

import collections
import glob
import logging
import os

import numpy as np
import pandas as pd

from ecgq.data import beats, preprocess
from ecgq.data.errors import SKIP_HINT, DataError, RecordError, describe_skipped, warn_skipped
from ecgq.data.registry import DATASETS, DatasetSpec
from ecgq.data.splitting import choose_holdout_groups
from ecgq.data.types import DatasetInfo, Splits
from ecgq.data.wfdb_io import parse_leads, read_record

log = logging.getLogger("ecgq.data")

SPLIT_MODES = ("random", "all_test", "all_train", "records")
SPLITS = ("train", "val", "test")


def _names(text: str) -> list[str]:
    """'a, b,,c' -> ['a', 'b', 'c'] (record and lead lists in the config)."""
    return [name.strip() for name in str(text).split(",") if name.strip()]


def _check_fields(cfg) -> None:
    """The own fields, checked before any record is read (each error names its field)."""
    own = cfg.wfdb_beats
    if own.split not in SPLIT_MODES:
        raise DataError(f"--config.data.wfdb_beats.split={own.split!r}: choose one of {list(SPLIT_MODES)}.")
    if not str(own.annotator).strip():
        raise DataError("--config.data.wfdb_beats.annotator is empty: give the extension of the beat "
                        "annotation files (atr for most PhysioNet databases).")
    lists = {s: _names(own[f"{s}_records"]) for s in SPLITS}
    if own.split != "records" and any(lists.values()):
        given = [f"{s}_records" for s, names in lists.items() if names]
        raise DataError(f"--config.data.wfdb_beats.{given[0]} is set but wfdb_beats.split={own.split!r}; set "
                        "wfdb_beats.split='records' to use the record lists, or clear them.")
    if own.split == "records" and not (lists["train"] or lists["test"]):
        raise DataError("--config.data.wfdb_beats.split='records' needs wfdb_beats.test_records or "
                        "wfdb_beats.train_records (comma-separated record names).")
    seen: dict[str, str] = {}
    for split, names in lists.items():
        for name in names:
            if name in seen:
                raise DataError(f"Record {name!r} is in both wfdb_beats.{seen[name]}_records and "
                                f"wfdb_beats.{split}_records; a record belongs to one split.")
            seen[name] = split


def list_records(cfg, data_dir: str) -> list[str]:
    """The records to read: wfdb_beats.records, else the folder's RECORDS, else every .hea in it."""
    chosen = _names(cfg.wfdb_beats.records)
    if chosen:
        return chosen
    listing = os.path.join(data_dir, "RECORDS")
    if os.path.exists(listing):
        with open(listing, encoding="utf-8", errors="replace") as handle:
            records = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
        nested = [r for r in records if r.endswith("/")]
        if nested:
            raise DataError(f"{listing} lists sub-folders {nested[:3]}; point data.data_dir at one of them "
                            "or name the records in data.wfdb_beats.records.")
    else:
        headers = glob.glob(os.path.join(glob.escape(data_dir), "**", "*.hea"), recursive=True)
        records = sorted(os.path.relpath(h, data_dir)[: -len(".hea")].replace(os.sep, "/") for h in headers)
    if not records:
        raise DataError(f"No WFDB record in {data_dir!r} (no RECORDS file, no .hea header); point "
                        "data.data_dir at a WFDB database or name its records in data.wfdb_beats.records.")
    return records


def read_patients(cfg, data_dir: str) -> dict[str, str]:
    """record -> patient from wfdb_beats.patients_csv (columns record,patient); {} when unset."""
    if not cfg.wfdb_beats.patients_csv:
        return {}
    path = cfg.wfdb_beats.patients_csv
    path = path if os.path.isabs(path) else os.path.join(data_dir, path)
    if not os.path.exists(path):
        raise DataError(f"Patients CSV {path!r} not found (data.wfdb_beats.patients_csv); write one with "
                        "columns record,patient or clear the field (each record its own patient).")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(f"Patients CSV {path!r} is not a readable CSV ({error}); it needs columns "
                        "record,patient.") from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in ("record", "patient") if c not in table.columns]
    if missing:
        raise DataError(f"Patients CSV {path!r} lacks column(s) {missing} (its header has "
                        f"{list(table.columns)}); needed: record,patient.")
    table = table.apply(lambda column: column.str.strip())
    if table["record"].duplicated().any():
        dup = table["record"][table["record"].duplicated()].iloc[0]
        raise DataError(f"Patients CSV {path!r} lists record {dup!r} twice; keep one row per record.")
    if (table["patient"] == "").any():
        bad = table["record"][table["patient"] == ""].iloc[0]
        raise DataError(f"Patients CSV {path!r}: record {bad!r} has an empty patient; fill it in or remove the row.")
    return dict(zip(table["record"], table["patient"]))


def choose_leads(record: str, names: tuple[str, ...], wanted: tuple[str, ...], fallback: list[str]) -> list[int]:
    """Channels of the leads to read: every lead of ``wanted`` (all leads when empty), or, when it
    names one lead, the first of it and ``fallback`` that the record has."""
    if len(wanted) == 1:
        order = list(dict.fromkeys([*wanted, *fallback]))
        for lead in order:
            if lead in names:
                return [names.index(lead)]
        raise RecordError(record, "missing_lead", f"Record {record} has none of the leads {order} (it has "
                          f"{list(names)}); add one of its leads to data.wfdb_beats.lead_fallback or name "
                          f"it in data.leads, or {SKIP_HINT}.")
    missing = [lead for lead in wanted if lead not in names]
    if missing:
        raise RecordError(record, "missing_lead", f"Record {record} has no lead {missing} (it has "
                          f"{list(names)}); pick other data.leads (one lead uses wfdb_beats.lead_fallback), "
                          f"or {SKIP_HINT}.")
    return [names.index(lead) for lead in wanted] if wanted else list(range(len(names)))


def load_record(data_dir: str, record: str, cfg) -> dict:
    """Beat windows of one record (see ``beats.beat_windows``) plus the lead names it was read from."""
    path = os.path.join(data_dir, *record.split("/"))
    signal, fs, names = read_record(path, ())
    annotator = str(cfg.wfdb_beats.annotator).strip()
    fix = ("set data.wfdb_beats.annotator to the extension of this database's beat annotation files, "
           "leave the record out of data.wfdb_beats.records")
    samples, symbols = beats.read_beats(path, annotator, fix=fix)  # before the leads: no beats, no use
    channels = choose_leads(record, names, parse_leads(cfg.leads), _names(cfg.wfdb_beats.lead_fallback))
    signal = signal[:, channels]
    preprocess.check_signal(signal, record)  # only the leads used: a flat spare lead does not matter
    out = beats.beat_windows(signal, fs, samples, symbols, cfg)
    return {**out, "leads": tuple(names[c] for c in channels), "source_fs": fs}


def _groups_and_counts(records, per_record, patient_of, task):
    """(patients in first-seen order, (n_patients, n_classes) beat counts, patient -> its records)."""
    members: dict[str, list[str]] = {}
    for r in records:
        members.setdefault(patient_of.get(r, r), []).append(r)
    groups = list(members)
    counts = np.stack([beats.holdout_counts(per_record, members[g], task).sum(axis=0) for g in groups]) \
        if groups else np.zeros((0, len(beats.class_names(task))))
    return groups, counts, members


def _holdout(records, per_record, patient_of, task, fraction, seed) -> tuple[list[str], list[str]]:
    """(kept, held out) records: whole patients, stratified as far as possible, seeded."""
    groups, counts, members = _groups_and_counts(records, per_record, patient_of, task)
    chosen = set(choose_holdout_groups(groups, counts, fraction, seed))
    out = {r for g in chosen for r in members[g]}
    return [r for r in records if r not in out], [r for r in records if r in out]


def _record_lists(cfg, records: list[str]) -> dict[str, list[str]]:
    """split='records': split -> the records named for it, checked against the database's records;
    an empty train list means every record not named for val or test."""
    lists = {s: _names(cfg.wfdb_beats[f"{s}_records"]) for s in SPLITS}
    unknown = [r for r in sum(lists.values(), []) if r not in records]
    if unknown:
        raise DataError(f"wfdb_beats record list(s) name {unknown}, which are not records of this database "
                        f"(it has {records[:8]}{' ...' if len(records) > 8 else ''}); fix "
                        "data.wfdb_beats.train_records / val_records / test_records.")
    if not lists["train"]:
        listed = set(lists["val"]) | set(lists["test"])
        lists["train"] = [r for r in records if r not in listed]
    return lists


def assign_splits(records: list[str], per_record: dict, patient_of: dict[str, str], cfg) -> dict[str, list[str]]:
    """split -> records (in ``records`` order) for wfdb_beats.split; every patient in one split."""
    own, task = cfg.wfdb_beats, cfg.task
    usable = [r for r in records if r in per_record]
    if own.split == "all_test":
        return {"train": [], "val": [], "test": usable}
    if own.split == "all_train":
        train, val = _holdout(usable, per_record, patient_of, task, cfg.val_fraction, cfg.val_seed)
        return {"train": train, "val": val, "test": []}
    if own.split == "random":
        rest, test = _holdout(usable, per_record, patient_of, task, cfg.test_fraction, cfg.val_seed + 1)
        train, val = _holdout(rest, per_record, patient_of, task, cfg.val_fraction, cfg.val_seed)
        return {"train": train, "val": val, "test": test}
    lists = _record_lists(cfg, records)
    out = {s: [r for r in names if r in per_record] for s, names in lists.items()}
    if not lists["val"]:
        out["train"], out["val"] = _holdout(out["train"], per_record, patient_of, task, cfg.val_fraction,
                                            cfg.val_seed)
    where: dict[str, tuple[str, str]] = {}
    for split, names in out.items():
        for r in names:
            patient = patient_of.get(r, r)
            if patient in where and where[patient][0] != split:
                other_split, other = where[patient]
                raise DataError(f"Patient {patient!r} has record {other} in {other_split} and record {r} in "
                                f"{split} (wfdb_beats.patients_csv); put all of a patient's records in one "
                                "split's list.")
            where[patient] = (split, r)
    return out


def _records_to_read(cfg, data_dir: str) -> list[str]:
    """The database's records, less those that split='records' does not name (never read)."""
    records = list_records(cfg, data_dir)
    if cfg.wfdb_beats.split != "records":
        return records
    used = set(sum(_record_lists(cfg, records).values(), []))
    return [r for r in records if r in used]


def _skipped_split(record: str, cfg) -> str:
    """The split a skipped record is counted under (its list's, or the mode's pool)."""
    own = cfg.wfdb_beats
    if own.split == "records":
        for split in ("val", "test"):
            if record in _names(own[f"{split}_records"]):
                return split
        return "train"
    return "test" if own.split == "all_test" else "train"


def _lead_names(per_record: dict, wanted: tuple[str, ...]) -> tuple[str, ...]:
    """The windows' lead names: those of every record (all leads: they must agree), or, for one lead
    chosen by fallback, the most common choice (a warning names the records that read another)."""
    used = {r: d["leads"] for r, d in per_record.items()}
    if len(wanted) != 1:
        first_record, first = next(iter(used.items()))
        for r, names in used.items():
            if names != first:
                raise DataError(f"Record {r} has leads {list(names)}, record {first_record} {list(first)}; name "
                                "the leads to read in data.leads (one lead may fall back through "
                                "data.wfdb_beats.lead_fallback).")
        return first
    tally = collections.Counter(names for names in used.values())
    common = max(tally, key=lambda names: (tally[names], names == wanted))
    others = {r: names[0] for r, names in used.items() if names != common}
    if others:
        shown = ", ".join(f"{r}: {lead}" for r, lead in list(others.items())[:10])
        log.warning("wfdb_beats: %d record(s) lack lead %s and were read from another lead (%s%s); "
                    "DatasetInfo.lead_names says %s. Leave them out (wfdb_beats.records) or shorten "
                    "wfdb_beats.lead_fallback if that lead differs from what the model expects.",
                    len(others), common[0], shown, " ..." if len(others) > 10 else "", common[0])
    return common


def build(cfg, data_dir: str) -> Splits:
    _check_fields(cfg)
    records = _records_to_read(cfg, data_dir)
    patient_of = read_patients(cfg, data_dir)
    per_record, skipped = {}, {}
    for record in records:
        try:
            per_record[record] = load_record(data_dir, record, cfg)
        except RecordError as error:
            if not cfg.skip_bad_records:
                raise
            skipped[record] = error.reason
    if not per_record:
        raise DataError(f"No usable record in {data_dir!r} (skipped: "
                        f"{describe_skipped(beats.skipped_by_reason(records, skipped))}); see the reasons above.")
    rates = {r: d["fs"] for r, d in per_record.items()}
    if len(set(rates.values())) > 1:
        examples = ", ".join(f"{r}: {fs:g} Hz" for r, fs in list(rates.items())[:4])
        raise DataError(f"Records of {data_dir!r} are sampled at different rates ({examples}, ...); set "
                        "data.target_rate to read them all at one rate.")
    lead_names = _lead_names(per_record, parse_leads(cfg.leads))
    assigned = assign_splits(records, per_record, patient_of, cfg)
    skipped_in = {s: beats.skipped_by_reason([r for r in records if _skipped_split(r, cfg) == s], skipped)
                  for s in SPLITS}
    splits, dropped = {}, {}
    for s in SPLITS:
        listed_skips = {r: skipped[r] for r in records if r in skipped and _skipped_split(r, cfg) == s}
        splits[s], dropped[s] = beats.assemble(per_record, assigned[s] + list(listed_skips), listed_skips, cfg,
                                               len(lead_names), patient_of)
    info = DatasetInfo(name="wfdb_beats", task=cfg.task, class_names=beats.class_names(cfg.task),
                       multilabel=False, sampling_rate=next(iter(rates.values())), lead_names=lead_names,
                       dropped=dropped, skipped=skipped_in)
    warn_skipped("wfdb_beats", info.skipped)
    return Splits(info=info, **splits)


def source_files(cfg, data_dir: str) -> list[str]:
    """RECORDS, the patients CSV and every file of every record (header, signals, annotations)."""
    files = [os.path.join(data_dir, "RECORDS")]
    if cfg.wfdb_beats.patients_csv:
        path = cfg.wfdb_beats.patients_csv
        files.append(path if os.path.isabs(path) else os.path.join(data_dir, path))
    for record in _records_to_read(cfg, data_dir):
        stem = os.path.join(data_dir, *record.split("/"))
        files += sorted(glob.glob(glob.escape(stem) + ".*")) or [stem + ".hea"]
    return files


def check(cfg, data_dir: str) -> None:
    """Cheap pre-flight: the own fields, a folder that holds records, a patients CSV that exists."""
    _check_fields(cfg)
    if not os.path.isdir(data_dir):
        raise DataError(f"wfdb_beats: data.data_dir={data_dir!r} is not a folder; point it at a WFDB database.")
    _records_to_read(cfg, data_dir)
    read_patients(cfg, data_dir)


DATASETS.register(DatasetSpec(
    name="wfdb_beats",
    description="Any WFDB database with beat annotations (INCART, NSTDB, ...): AAMI beats as in mitbih, "
                "resampled to target_rate, lead by name with fallbacks, whole-record splits, RR features",
    tasks=beats.TASKS,
    build=build,
    source_files=source_files,
    fields={"wfdb_beats": {"records": "", "annotator": "atr", "lead_fallback": "MLII,II,ML2,V1,V2,V5",
                           "split": "random", "train_records": "", "val_records": "", "test_records": "",
                           "patients_csv": ""}},
    docs={
        "wfdb_beats.records": "Comma-separated records to read; '' = those in the folder's RECORDS file, else every .hea in it.",
        "wfdb_beats.annotator": "Extension of the beat annotation files (atr in most PhysioNet databases).",
        "wfdb_beats.lead_fallback": "Leads tried in order when a record lacks the one lead named in data.leads "
                                    "(databases name it MLII, II or ML2); '' = none. Ignored when data.leads "
                                    "names several leads (all required) or none (all leads of the record).",
        "wfdb_beats.split": f"Whole-record splits, one of {list(SPLIT_MODES)}: random (test_fraction, then "
                            "val_fraction of the rest, seeded by val_seed), all_test (every record tests a model "
                            "trained elsewhere), all_train (val carved from all, no test), records (the lists below).",
        "wfdb_beats.train_records": "split='records': comma-separated training records; '' = every record not in "
                                    "val_records / test_records.",
        "wfdb_beats.val_records": "split='records': comma-separated validation records; '' = val_fraction of the "
                                  "training records (whole patients, seeded).",
        "wfdb_beats.test_records": "split='records': comma-separated test records.",
        "wfdb_beats.patients_csv": "CSV with columns record,patient (relative paths are inside data_dir) so that "
                                   "a patient's records share a split; '' = each record its own patient.",
    },
    defaults={"leads": "MLII"},
    check=check,
    rr_features=True,
))
