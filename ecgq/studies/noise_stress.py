"""The ``noise_stress`` study: a finished MIT-BIH study's models on the Noise Stress Test Database.

The MIT-BIH Noise Stress Test Database (NSTDB) holds MIT-BIH records 118 and 119 with calibrated
electrode-motion noise added at SNR 24, 18, 12, 6, 0 and -6 dB (records ``118e24`` ... ``119e_6``,
360 Hz, the original beat annotations). The noise is present only in alternating two-minute
segments after the first five minutes (minutes 5-7, 9-11, ..., 29-30; checked against the clean
records: the signals differ only there), so each point scores only the beats *inside* the noisy
segments, and the clean point scores the same beats of the clean 118/119 (``mitdb``).

Records 118 and 119 are DS1 (training) records: the source study must have been trained and
validated without them (``experiments/mitbih_binary.py:noise``); otherwise this study refuses to
run. Every member of every model is scored through :mod:`ecgq.studies.scoring` (the same view
adaptation as ``evaluate``); each point gets its own report in ``points/<point>/``, and the study
writes ``noise_stress.json`` / ``.md`` / ``.csv`` (balanced accuracy per model, setting and SNR,
mean ± 95% CI over seeds) and ``balanced_accuracy_vs_snr.png``.
"""

from __future__ import annotations

import dataclasses
import os
import time

import ml_collections
import numpy as np

from ecgq.errors import ConfigError, UserError
from ecgq.studies.registry import STUDIES, TOP_LEVEL_DOCS, StudySpec

SNRS = (24, 18, 12, 6, 0, -6)
SOURCES = ("118", "119")
NOISE_START_MIN = 5.0
SEGMENT_MIN = 2.0
METRIC = "balanced_accuracy"
DOCS = {
    "study_name": "Title of the report; '' = '<source study>: noise stress'.",
    "source_workdir": "The --workdir of a finished MIT-BIH distillation study trained without records 118 and 119 "
                      "(experiments/mitbih_binary.py:noise).",
    "models": "Comma-separated models of the source study to score; '' = all of them.",
    "nstdb_dir": "Folder of the MIT-BIH Noise Stress Test Database; '' = $ECGQ_DATA/nstdb.",
    "mitdb_dir": "Folder of MIT-BIH (the clean records 118/119, the 0-noise point); '' = $ECGQ_DATA/mitdb.",
    "snrs": "SNRs in dB to score (records 118eNN / 119eNN; -6 is written _6 in the names).",
    "noisy_segments_only": "Score only beats inside the noisy two-minute segments (and the same beats of the clean "
                           "records); False scores every beat, including the clean minutes of each noisy record.",
    "batch_size": "Windows per inference batch.",
    "plots": "Write balanced_accuracy_vs_snr.png.",
}


def noise_stress_config(source_workdir: str = "") -> ml_collections.ConfigDict:
    from ecgq.studies.evaluate import scoring_config

    return scoring_config("noise_stress", source_workdir, nstdb_dir="", mitdb_dir="", snrs=SNRS,
                          noisy_segments_only=True)


def record_name(source: str, snr: int) -> str:
    """NSTDB's name of ``source`` at ``snr`` dB: 118e24, 118e06, 118e00, 118e_6."""
    return f"{source}e{snr:02d}" if snr >= 0 else f"{source}e_{-snr}"


def in_noisy_segment(seconds: np.ndarray) -> np.ndarray:
    """Whether each time (s from the record's start) lies in a noisy segment: from minute 5 on,
    two noisy minutes then two clean ones, repeated."""
    minutes = np.asarray(seconds, np.float64) / 60.0
    after = minutes - NOISE_START_MIN
    return (after >= 0) & (np.floor(after / SEGMENT_MIN).astype(np.int64) % 2 == 0)


def _folder(value: str, sub: str, field: str) -> str:
    if value:
        return os.path.expanduser(str(value))
    root = os.environ.get("ECGQ_DATA")
    if not root:
        raise ConfigError(f"--config.{field} is empty and $ECGQ_DATA is unset; set one of them.")
    return os.path.join(os.path.expanduser(root), sub)


def check(config) -> None:
    """Flags, folders that hold the records, and a source study that never saw 118/119."""
    from ecgq.studies import model_views

    if not str(config.source_workdir).strip():
        raise ConfigError("--config.source_workdir is empty: point it at a finished study trained without records "
                          "118/119 (python launch.py --config=experiments/mitbih_binary.py:noise).")
    if not tuple(config.snrs) or any(int(s) not in SNRS for s in config.snrs):
        raise ConfigError(f"--config.snrs={tuple(config.snrs)}: choose from the database's SNRs {list(SNRS)}.")
    if int(config.batch_size) < 1:
        raise ConfigError(f"--config.batch_size must be >= 1, got {config.batch_size}.")
    wanted = {"nstdb_dir": [record_name(s, int(n)) for s in SOURCES for n in config.snrs], "mitdb_dir": SOURCES}
    for field, records in wanted.items():
        folder = _folder(config[field], field[:-4], field)
        missing = [r for r in records if not os.path.exists(os.path.join(folder, f"{r}.hea"))]
        if missing:
            raise ConfigError(f"--config.{field}={folder!r} lacks records {missing}; point it at the "
                              f"{'Noise Stress Test Database' if field == 'nstdb_dir' else 'MIT-BIH'} folder.")
    inputs = model_views.read(os.path.abspath(os.path.expanduser(str(config.source_workdir))))
    refuse_trained_sources(inputs)


def refuse_trained_sources(inputs: dict) -> None:
    """One error when any view of the source study trained or validated on record 118 or 119."""
    seen = sorted({r for view in inputs["views"].values() for s in ("train", "val")
                   for r in view["records"][s] if r in SOURCES})
    if seen:
        raise UserError(f"--config.source_workdir: its models trained or validated on record(s) {seen}, the clean "
                        "sources of the noise-stress records, so these scores would measure training patients; "
                        "train the source with python launch.py --config=experiments/mitbih_binary.py:noise.")


def beat_selector(folder: str, noisy_only: bool):
    """``select(split, info)``: the beats inside the noisy segments (by their source-rate sample)."""
    import wfdb

    def select(split, info):
        if not noisy_only:
            return split
        rates = {r: float(wfdb.rdheader(os.path.join(folder, r)).fs) for r in set(split.record)}
        seconds = np.asarray(split.beat, np.float64) / np.array([rates[r] for r in split.record])
        keep = in_noisy_segment(seconds)
        fields = {f.name: getattr(split, f.name) for f in dataclasses.fields(split)}
        return dataclasses.replace(split, **{k: v[keep] for k, v in fields.items() if isinstance(v, np.ndarray)})

    return select


def point_config(folder: str, records: list[str]) -> ml_collections.ConfigDict:
    from ecgq.data import data_config

    cfg = data_config("wfdb_beats")
    cfg.data_dir = folder
    cfg.wfdb_beats.records = ",".join(records)
    cfg.wfdb_beats.split = "all_test"
    return cfg


def score_points(config, source) -> list[tuple[int | None, str, list[dict], dict]]:
    """``(snr or None for clean, label, runs, facts)`` for the clean records and every SNR."""
    from ecgq.studies.scoring import score_dataset

    nstdb = _folder(config.nstdb_dir, "nstdb", "nstdb_dir")
    mitdb = _folder(config.mitdb_dir, "mitdb", "mitdb_dir")
    points = [(None, mitdb, list(SOURCES), "clean 118/119")]
    points += [(int(s), nstdb, [record_name(r, int(s)) for r in SOURCES], f"SNR {int(s)} dB") for s in config.snrs]
    out = []
    for snr, folder, records, label in points:
        runs, facts = score_dataset(source, point_config(folder, records), split="test", label=label,
                                    select=beat_selector(folder, bool(config.noisy_segments_only)),
                                    batch_size=int(config.batch_size))
        out.append((snr, label, runs, facts))
    return out


def curves(points) -> list[dict]:
    """Per model and setting: balanced accuracy (mean, 95% CI over seeds) at each point."""
    from ecgq.eval.report import build_summary

    by_key: dict[tuple, dict] = {}
    for snr, _, runs, facts in points:
        for e in build_summary(runs):
            setting = f"KD T={e['temperature']:g} a={e['alpha']:g}" if e["kd"] else "no KD"
            curve = by_key.setdefault((e["model"], setting), {"label": f"{e['model']} {setting}", "model": e["model"],
                                                              "setting": setting, "points": []})
            stat = e["metrics"][METRIC]
            curve["points"].append({"snr": snr, "mean": stat["mean"], "ci95": stat["ci95"], "n_seeds": e["n_seeds"],
                                    "n_beats": next(r["n_windows"] for r in runs if r["model"] == e["model"])})
    return list(by_key.values())


def table(curve_list: list[dict], points) -> str:
    """Markdown: one row per model and setting, one column per point (mean ± 95% CI over seeds)."""
    import pandas as pd

    labels = [label for _, label, _, _ in points]
    rows = []
    for c in curve_list:
        row = {"model": c["model"], "setting": c["setting"], "seeds": max(p["n_seeds"] for p in c["points"])}
        for label, p in zip(labels, c["points"]):
            row[label] = "n/a" if p["mean"] is None else (
                f"{p['mean']:.3f}" + (f" ± {p['ci95']:.3f}" if p["ci95"] is not None else ""))
        rows.append(row)
    return pd.DataFrame(rows).to_markdown(index=False)


def run(config, workdir: str) -> dict:
    """Score every member at every point; write the per-point reports, the table and the plot."""
    from ecgq.atomic import write_json_atomic
    from ecgq.eval import plots
    from ecgq.studies.evaluate import model_names, source_meta, write_outputs
    from ecgq.studies.scoring import load_source

    start = time.time()
    workdir = os.path.abspath(workdir)
    source = load_source(config.source_workdir, model_names(config))
    refuse_trained_sources(source.inputs)
    if os.path.realpath(workdir) == os.path.realpath(source.workdir):
        raise UserError(f"--workdir={workdir} is the source workdir; choose another --workdir.")
    points = score_points(config, source)  # everything scored before anything is written
    title = config.study_name or f"{source.study_name}: noise stress"
    segments = ("beats inside the noisy 2-minute segments (minutes 5-7, 9-11, ...) of records 118 and 119, the "
                "same beats on the clean records" if config.noisy_segments_only else "every beat of records 118/119")
    for snr, label, runs, facts in points:
        meta = source_meta(source, facts, label)
        meta["study_name"] = f"{title}, {label}"
        meta["dataset"] = "nstdb" if snr is not None else "mitdb"
        meta["notes"].append(f"scored: {segments}")
        write_outputs(config, os.path.join(workdir, "points", label.replace(" ", "_").replace("/", "_")), runs, meta,
                      False)
    curve_list = curves(points)
    n_beats = {label: facts["n"]["student"]["windows"] for _, label, _, facts in points}
    header = (f"# {title}\n\n{METRIC} on {segments}, test-only (no tuning), mean ± 95% CI over seeds "
              f"(seeds per row in `seeds`); models of {source.workdir} at their best epoch on that study's "
              f"validation split. RR features (where the models read them) come from the reference beat "
              f"annotations at every SNR, not from beats detected in the noisy signal, so they carry no noise. "
              f"Beats per point (student view): "
              + ", ".join(f"{k}: {v}" for k, v in n_beats.items()) + ".\n\n")
    markdown = header + table(curve_list, points) + "\n"
    write_json_atomic(os.path.join(workdir, "noise_stress.json"),
                      {"study_name": title, "source_workdir": source.workdir, "source_study": source.study_name,
                       "metric": METRIC, "scored": segments, "n_beats": n_beats, "curves": curve_list})
    with open(os.path.join(workdir, "noise_stress.md"), "w") as handle:
        handle.write(markdown)
    paths = {"json": os.path.join(workdir, "noise_stress.json"), "md": os.path.join(workdir, "noise_stress.md")}
    if config.plots:
        paths["plot"] = plots.metric_vs_snr(curve_list, os.path.join(workdir, "balanced_accuracy_vs_snr.png"),
                                            f"{title} ({segments.split(' (')[0]})", METRIC)
    print(f"\n{markdown}\nReport: " + ", ".join(f"{k}={v}" for k, v in paths.items())
          + f"\n{time.time() - start:.0f} s")
    return {"paths": paths, "curves": curve_list, "table": markdown}


STUDIES.register(StudySpec(
    name="noise_stress",
    description="A finished MIT-BIH study's models on the Noise Stress Test records at SNR 24..-6 dB and clean 118/119",
    run=run,
    docs=lambda config: {**TOP_LEVEL_DOCS, **DOCS},
    check=check,
))
