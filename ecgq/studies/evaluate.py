"""The ``evaluate`` study: the models of a finished distillation workdir scored on another dataset.

``--config.source_workdir=W`` names the study (its ``model_inputs.json`` says what each model saw);
``--config.data.*`` the new dataset. Every member of every model (every seed and KD setting) is
restored at its best validation epoch, the new records are read in each model's view (rate, window,
leads, filters, normalisation, RR features standardised with the source's training statistics,
classes mapped by name or ``--config.class_map``), and the same report files as a distillation
study are written, naming the source study. The KD setting of the headline is still the one chosen
on the source's validation split; nothing is tuned on the new data. Scoring records that trained
or validated the models (the same database) is refused.
"""

from __future__ import annotations

import os
import time

import ml_collections

from ecgq.configs import mount
from ecgq.data import check_data_config, data_config, data_docs, with_dataset_defaults
from ecgq.errors import ConfigError, UserError
from ecgq.studies.registry import STUDIES, TOP_LEVEL_DOCS, StudySpec

SPLITS = ("train", "val", "test")
DOCS = {
    "study_name": "Title of the report; '' = '<source study> on <dataset>'.",
    "source_workdir": "The --workdir of a finished distillation study whose models are scored (every model, seed "
                      "and KD setting, at its best validation epoch).",
    "models": "Comma-separated models of the source study to score; '' = all of them.",
    "split": f"Which split of the new dataset is scored, one of {list(SPLITS)} (wfdb_beats.split='all_test' puts "
             "every record in test).",
    "class_map": "NEW:TRAINED pairs mapping the new dataset's class names onto the trained ones (comma-separated, "
                 "e.g. 'normal:N,arrhythmia:abnormal'); '' = classes of equal names. An unmapped class is an error.",
    "batch_size": "Windows per inference batch.",
    "plots": "Write balanced_accuracy_vs_params.png.",
}


def scoring_config(study: str, source_workdir: str = "", **fields) -> ml_collections.ConfigDict:
    """The fields every study that scores a finished workdir shares, then its own ``fields``."""
    c = ml_collections.ConfigDict({"study": study, "seed": 0, "study_name": "", "source_workdir": source_workdir,
                                   "models": "", "batch_size": 256, "plots": True})
    for key, value in fields.items():
        c[key] = value
    return c


def evaluate_config(source_workdir: str = "", data_name: str = "wfdb_beats") -> ml_collections.ConfigDict:
    """A complete ``evaluate`` config: by default every record of a WFDB beat database in test."""
    c = scoring_config("evaluate", source_workdir, split="test", class_map="")
    c.data = data_config(data_name)
    c.data.wfdb_beats.split = "all_test"
    return c


def model_names(config) -> tuple[str, ...]:
    """``--config.models`` as names ('' = every model of the source)."""
    return tuple(m.strip() for m in str(config.models).split(",") if m.strip())


def check(config) -> None:
    """The flags, the source workdir's model views and the new dataset's config (no record read)."""
    from ecgq.studies import model_views, transfer

    if not str(config.source_workdir).strip():
        raise ConfigError("--config.source_workdir is empty: point it at the --workdir of a finished distillation "
                          "study.")
    if config.split not in SPLITS:
        raise ConfigError(f"--config.split={config.split!r}: choose one of {list(SPLITS)}.")
    if int(config.batch_size) < 1:
        raise ConfigError(f"--config.batch_size must be >= 1, got {config.batch_size}.")
    transfer.parse_class_map(config.class_map)
    model_views.read(os.path.abspath(os.path.expanduser(str(config.source_workdir))))
    check_data_config(config.data, "data")


def complete(base, config):
    config = ml_collections.ConfigDict(config.to_dict())
    config.data = with_dataset_defaults(base.data, config.data)
    return config


def describe_view(view: dict) -> str:
    rr = f"; RR features {', '.join(view['rr_features'])}" if view["rr_features"] else ""
    return (f"{','.join(view['lead_names'])} at {view['sampling_rate']:g} Hz, {view['window_length']}-sample "
            f"windows, normalize={view['preprocess']['normalize']}{rr}")


def source_meta(source, facts: dict, label: str) -> dict:
    """The report's ``meta``: the source study named, the scored data counted, no tuning on it."""
    views = source.inputs["views"]
    counts = "; ".join(f"{v} view: {n['windows']} windows from {n['records']} records"
                       for v, n in facts["n"].items())
    notes = [f"models of {source.workdir} (study {source.study_name!r}, trained on {views['student']['dataset']}), "
             f"each member at its best epoch on that study's validation split; scored on {label} ({counts}); "
             "KD settings chosen on the source's validation, nothing tuned on these data"]
    notes += list(dict.fromkeys(facts["notes"]))  # one line per fact, whichever views found it
    inputs = {name: f"{describe_view(views[m['view']])} (the {m['view']} view of the source study)"
              for name, m in source.inputs["models"].items() if name in source.stages}
    return {"source_workdir": source.workdir, "source_study": source.study_name, "dataset": label.split()[0],
            "task": views["student"]["task"], "class_names": views["student"]["class_names"],
            "test_split": label, "selection": "source study's validation split", "n": facts["n"],
            "scored_data": facts["data"], "inputs": inputs, "notes": notes}


def write_outputs(config, workdir: str, runs: list[dict], meta: dict, plots: bool) -> dict:
    """``config.json`` (guarded), the report files and the accuracy plot; the summary printed."""
    from ecgq.eval import plots as plot_lib
    from ecgq.eval import report
    from ecgq.studies.workdir import guard_config

    guard_config(config, workdir)
    paths = report.write_report(workdir, runs, meta)
    summary = report.build_summary(runs)
    if plots:
        paths["plot_accuracy_vs_params"] = plot_lib.accuracy_vs_params(
            summary, os.path.join(workdir, "balanced_accuracy_vs_params.png"))
    return {"paths": paths, "summary": summary, "meta": meta}


def run(config, workdir: str) -> dict:
    """Score every member of ``config.source_workdir`` on ``config.data``; write the report."""
    from ecgq.eval import report
    from ecgq.studies.scoring import load_source, score_dataset

    start = time.time()
    workdir = os.path.abspath(workdir)
    source = load_source(config.source_workdir, model_names(config))
    if os.path.realpath(workdir) == os.path.realpath(source.workdir):
        raise UserError(f"--workdir={workdir} is the source workdir; its report would be overwritten. Choose "
                        "another --workdir.")
    label = f"{config.data.name} {config.split}"
    runs, facts = score_dataset(source, config.data, split=config.split, class_map=config.class_map, label=label,
                                batch_size=int(config.batch_size))
    meta = source_meta(source, facts, label)
    meta["study_name"] = config.study_name or f"{source.study_name} on {config.data.name}"
    meta["wall_seconds"] = round(time.time() - start, 1)
    out = write_outputs(config, workdir, runs, meta, bool(config.plots))
    print(f"\n{meta['study_name']}: {label}, mean ± 95% CI over seeds; {time.time() - start:.0f} s")
    report.print_summary(out["summary"], out["paths"])
    return out


STUDIES.register(StudySpec(
    name="evaluate",
    description="The models of a finished distillation workdir scored on another dataset, in each model's view",
    run=run,
    docs=lambda config: {**TOP_LEVEL_DOCS, **DOCS, **mount("data", data_docs())},
    check=check,
    complete=complete,
))
