"""The distillation study (``config.study == "distill"``), end to end.

1. Load the splits (``ecgq.data``), refuse patient-overlapping ones, and size every model from the
   data (an abstract ``init`` of each proves the shapes fit before anything trains); write
   ``model_inputs.json`` (each model's view of the data, for ``experiments/evaluate.py``). Model
   selection only ever looks at ``val``; ``test`` is touched once per model, after training.
2. Teacher (:mod:`ecgq.distill.teacher_stage`): train the preset, or fine-tune
   ``config.teacher.checkpoint``, then compute its logits on every split once (cached on disk).
3. Students (:mod:`ecgq.distill.student_stage`): every seed x KD setting (plus the no-KD baseline)
   as one vmapped program, checkpointed with Orbax, evaluated on test at its best validation epoch.
4. Write ``results.json/csv/md``, TensorBoard scalars and plots; print the summary table.

Each finished stage writes ``stages/<model>.json``; a rerun on the same workdir resumes an
interrupted stage from its last checkpoint and only re-reports finished ones.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from typing import Any

import ml_collections
import numpy as np

from ecgq.studies import distill_config, model_views
from ecgq.studies.registry import STUDIES, StudySpec

log = logging.getLogger(__name__)
SPLITS = ("train", "val", "test")


class _QuietOrbax(logging.Filter):
    """Drop Orbax's per-save INFO chatter (dozens of lines per checkpoint) from the absl log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or "/orbax/" not in record.pathname.replace("\\", "/")


def quiet_orbax() -> None:
    """Keep the absl log readable while Orbax saves or restores (its per-item chatter filtered)."""
    target = logging.getLogger("absl")
    if not any(isinstance(f, _QuietOrbax) for f in target.filters):
        target.addFilter(_QuietOrbax())


def subsample_split(split, limit: int, seed: int):
    """At most ``limit`` windows of ``split``, drawn per class in proportion (0 = unchanged).

    For smoke runs on big datasets; the kept windows are sorted so the split keeps its order.
    Multi-label splits are drawn per label pattern (each distinct multi-hot row is a stratum).
    """
    n = len(split.y)
    if not limit or limit >= n:
        return split
    rng = np.random.default_rng(seed)
    y = np.asarray(split.y)
    strata = y if y.ndim == 1 else np.unique(y, axis=0, return_inverse=True)[1].reshape(-1)
    keep = []
    for c in np.unique(strata):
        idx = np.flatnonzero(strata == c)
        take = max(1, int(round(limit * len(idx) / n)))
        keep.append(rng.choice(idx, size=min(take, len(idx)), replace=False))
    keep = np.sort(np.concatenate(keep))
    fields = {f.name: getattr(split, f.name) for f in dataclasses.fields(split)}
    return dataclasses.replace(split, **{k: v[keep] for k, v in fields.items() if isinstance(v, np.ndarray)})


def _abstract_init(name: str, model, input_shape, rr_dim, where: str) -> None:
    """Trace ``model.init`` on the data's shapes (no FLOPs spent): a shape error surfaces now."""
    import jax
    import jax.numpy as jnp

    from ecgq.errors import ConfigError, UserError

    x = jax.ShapeDtypeStruct((2, *input_shape), jnp.float32)
    rr = None if rr_dim is None else jax.ShapeDtypeStruct((2, rr_dim), jnp.float32)
    try:
        jax.eval_shape(model.init, jax.random.PRNGKey(0), x, rr)
    except UserError:
        raise
    except (ValueError, TypeError) as error:
        raise ConfigError(f"--config.{where}: model {name!r} cannot take inputs of shape "
                          f"{tuple(input_shape)} ({error}); change its size fields or the data's window.") from None


def fit_models_to_data(config, student_splits, teacher_splits) -> None:
    """Size every model from the data it will see (fields left at 0 / ''), then prove the shapes fit."""
    from ecgq.models import InputView, build_model, model_spec, sized_input_shape

    def view(splits):
        info = splits.info
        x = splits.train.x  # windows (n, time, leads) or images (n, height, width, channels)
        return InputView(int(x.shape[1]), tuple(info.lead_names), float(info.sampling_rate),
                         tuple(x.shape[1:]) if x.ndim == 4 else ())

    rr_dim = student_splits.train.rr.shape[1] if config.use_rr else None
    n_outputs = len(student_splits.info.class_names)
    roles = [("teacher", config.teacher.name, config.teacher, view(teacher_splits))]
    roles += [(f"students.{n}", n, config.students[n], view(student_splits)) for n in config.student_names]
    for where, name, cfg, data_view in roles:
        spec = model_spec(name)
        if spec.fit_to_data is not None:
            spec.fit_to_data(cfg, data_view, where)
        model = build_model(name, cfg, n_outputs, config.quantum)
        _abstract_init(name, model, sized_input_shape(name, cfg, data_view), rr_dim, where)


def _describe(leads, length: int, rate: float, n_train: int, rr_names: tuple[str, ...] | None) -> str:
    seconds = f" = {length / rate:.2f} s at {rate:g} Hz" if rate else ""
    text = f"{','.join(leads)}: {length}-sample windows{seconds}; {n_train} training windows"
    return text + (f"; {len(rr_names)} RR features ({', '.join(rr_names)})" if rr_names else "; no RR features")


def model_inputs(config, splits, teacher_splits) -> dict[str, str]:
    """What each model saw, in words (the report prints it beside the numbers): leads, window length
    and duration after the teacher's adapter, how many training windows, RR features or not."""
    from ecgq.models import InputView, sized_input_shape

    if splits.train.x.ndim == 4:  # images: every model sees them as they are
        h, w, _ = splits.train.x.shape[1:]
        text = f"{','.join(splits.info.lead_names)}: {h}x{w} images; {len(splits.train)} training images"
        return {name: text for name in (config.teacher.name, *config.student_names)}
    rr_names = None
    if config.use_rr and splits.train.rr is not None:
        from ecgq.data.rr import RR_FEATURES

        rr_names = tuple(config.get("rr_features", ())) or RR_FEATURES
    tinfo = teacher_splits.info
    tview = InputView(int(teacher_splits.train.x.shape[1]), tuple(tinfo.lead_names), float(tinfo.sampling_rate))
    tlength = sized_input_shape(config.teacher.name, config.teacher, tview)[0]
    trate = float(config.teacher.get("sampling_rate") or tinfo.sampling_rate)
    tleads = tuple(config.teacher.lead_order.split(",")) if config.teacher.get("lead_order") else tinfo.lead_names
    out = {config.teacher.name: _describe(tleads, tlength, trate, len(teacher_splits.train), rr_names)}
    student = _describe(splits.info.lead_names, int(splits.train.x.shape[1]), float(splits.info.sampling_rate),
                        len(splits.train), rr_names)
    out.update({name: student for name in config.student_names})
    return out


def load_study_splits(config, meta: dict):
    """Student and teacher splits: loaded, leak-checked, subsampled as configured."""
    from ecgq.data import load_splits
    from ecgq.data.summary import check_disjoint

    splits = load_splits(config.data)
    if not config.data.get("intra_patient", False):
        check_disjoint(splits)  # no patient may be in two splits: refuse to train otherwise
    else:
        meta["notes"].append("LEAKY intra-patient split (data.intra_patient=True): the same patients are "
                             "in train and test; these numbers are not a patient-level result")
    sub = config.subsample
    if sub.train or sub.val or sub.test:
        splits = dataclasses.replace(splits, **{
            s: subsample_split(getattr(splits, s), int(sub[s]), int(sub.seed) + i) for i, s in enumerate(SPLITS)})
        meta["notes"].append(f"SUBSAMPLED splits: at most {sub.train}/{sub.val}/{sub.test} "
                             "train/val/test windows (0 = all), class-stratified")
    if config.use_rr and config.get("rr_features", ()):
        splits = _select_rr(splits, tuple(config.rr_features))
    teacher_splits = splits
    view = distill_config.teacher_view(config)
    if view is not None:
        teacher_splits = load_splits(view)
        check_disjoint(teacher_splits)
        if splits.train.beat is not None and teacher_splits.train.beat is not None:
            from ecgq.data.align import align_beats

            teacher_splits = align_beats(teacher_splits, splits)  # the students' beats, one to one
        if config.use_rr and config.get("rr_features", ()):
            teacher_splits = _select_rr(teacher_splits, tuple(config.rr_features))
    return splits, teacher_splits


def _select_rr(splits, names: tuple[str, ...]):
    from ecgq.data.rr import select_rr

    return dataclasses.replace(splits, **{s: select_rr(getattr(splits, s), names) for s in SPLITS})


def _report(config, workdir: str, names: list[str], stages: dict, meta: dict, start: float, splits=None) -> dict:
    from ecgq.eval import kd_comparison, plots, report
    from ecgq.studies import decision_plots

    runs = [r for n in names for r in stages[n]["runs"]]
    histories = {k: v for n in names for k, v in stages[n]["histories"].items()}
    meta["stage_seconds"] = {n: stages[n].get("seconds") for n in names}
    meta["wall_seconds_this_invocation"] = round(time.time() - start, 1)
    if runs and runs[0].get("level") == "record":
        meta["notes"].append("metrics are per record (mean window logit); window-level ones in window_metrics")
    energy_notes = {r["energy_note"] for r in runs if r.get("energy_mj") is None and r.get("energy_note")}
    meta["notes"].extend(f"energy unavailable: {n}" for n in sorted(energy_notes))
    meta["notes"].extend(fusion_gate_notes(runs))
    if config.get("targets"):
        meta["targets"] = config.targets.to_dict()
    paths = report.write_report(workdir, runs, meta, histories)
    summary = report.build_summary(runs)
    comparison = kd_comparison.compare(runs)  # the same pure function write_report used
    if config.eval.plots:
        paths["plot_accuracy_vs_params"] = plots.accuracy_vs_params(
            summary, os.path.join(workdir, "balanced_accuracy_vs_params.png"))
        for i, p in enumerate(plots.kd_heatmaps(summary, workdir)):
            paths[f"plot_kd_heatmap_{i}"] = p
        paths["plot_training_curves"] = plots.training_curves(histories, os.path.join(workdir, "training_curves.png"))
        for model, path in plots.entanglement_maps(runs, workdir).items():
            paths[f"plot_entanglement_{model}"] = path
        nisq_plot = plots.nisq_conditions(summary, os.path.join(workdir, "nisq_balanced_accuracy.png"))
        if nisq_plot:
            paths["plot_nisq"] = nisq_plot
        kd_plot = plots.kd_paired_differences(comparison, os.path.join(workdir, "kd_paired_differences.png"))
        if kd_plot:
            paths["plot_kd_paired_differences"] = kd_plot
        if splits is not None:  # 2-D points only (the XOR study): teacher and students on the plane
            paths.update(decision_plots.write(config, workdir, splits, runs, comparison))
    info = meta["dataset"], meta["task"]
    print(f"\n{config.study_name}: {info[0]} ({info[1]}), test-split metrics, mean ± 95% CI over seeds "
          f"(selection on val); {time.time() - start:.0f} s")
    report.print_summary(summary, paths, comparison)
    return {"paths": paths, "summary": summary, "meta": meta, "kd_comparison": comparison}


def fusion_gate_notes(runs) -> list[str]:
    """Per hybrid model and setting, the learned fusion gate ``a`` (its second path's share of the
    logits) as mean and range over seeds: what the quantum path (or its control) ended up carrying."""
    from ecgq.eval.report import setting_label

    gates: dict[tuple[str, str], list[float]] = {}
    for r in runs:
        gate = (r.get("inspection") or {}).get("fusion_gate")
        if gate is not None:
            gates.setdefault((r["model"], setting_label(r)), []).append(float(np.mean(gate)))
    return [f"{model} ({setting}): learned fusion gate a = {np.mean(v):.3f} (seeds {min(v):.3f}..{max(v):.3f}; "
            "logits = (1 - a) classical + a second path)" for (model, setting), v in gates.items()]


def _write_stage(path: str, record: dict) -> None:
    from ecgq.atomic import write_json_atomic
    from ecgq.train.distributed import is_primary

    if not is_primary():  # several hosts: process 0 writes, the others trained their shards with it
        return
    write_json_atomic(path, record, default=lambda o: o.item() if hasattr(o, "item") else str(o))


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Run (or resume, or re-report) the distillation study of ``config`` in ``workdir``."""
    import jax

    from ecgq.distill.results import TaskInfo
    from ecgq.distill.student_stage import run_student_stage
    from ecgq.distill.teacher_stage import run_teacher_stage
    from ecgq.studies.workdir import guard_config
    from ecgq.train import sharding
    from ecgq.train.distributed import is_primary
    from ecgq.train.objectives import head_kind

    start = time.time()
    quiet_orbax()
    workdir = os.path.abspath(workdir)
    distill_config.check(config)
    mesh = sharding.make_mesh(config.get("mesh"))
    meta: dict[str, Any] = {"notes": [], "teacher_forward_passes": {s: 0 for s in SPLITS}}
    splits, teacher_splits = load_study_splits(config, meta)
    fit_models_to_data(config, splits, teacher_splits)
    if is_primary():  # several hosts: process 0 writes the workdir's files (checkpoints: every process)
        guard_config(config, workdir)  # only now: a config that fails its checks never claims a workdir
        model_views.write(workdir, config, splits, teacher_splits)  # what evaluate.py adapts new data to

    info = splits.info
    n_outputs = len(info.class_names)
    task = TaskInfo(n_outputs=n_outputs, head=head_kind(n_outputs, info.multilabel), multilabel=info.multilabel,
                    record_level=bool(config.eval.record_level), use_rr=bool(config.use_rr))
    meta.update({
        "study_name": config.study_name, "dataset": info.name, "task": info.task,
        "class_names": list(info.class_names), "multilabel": info.multilabel, "head": task.head,
        "test_split": "test", "selection": f"best {config.teacher.train.selection_metric} on val",
        "n": {s: int(len(getattr(splits, s).y)) for s in SPLITS},
        "backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()],
        "mesh": sharding.describe(mesh),
        "inputs": model_inputs(config, splits, teacher_splits),
    })
    stage_dir = os.path.join(workdir, "stages")
    teacher = config.teacher.name
    names = [teacher] + list(config.student_names)
    stage_path = {n: os.path.join(stage_dir, f"{n}.json") for n in names}
    stages: dict[str, dict] = {}
    teacher_logits = None
    pending = [n for n in config.student_names if not os.path.exists(stage_path[n])]
    if pending or not os.path.exists(stage_path[teacher]):
        began = time.time()
        stages[teacher], teacher_logits = run_teacher_stage(
            config.teacher, teacher_splits=teacher_splits, student_splits=splits, task=task, seed=config.seed,
            workdir=workdir, cache_dir=config.distill.cache_dir or os.path.join(workdir, "teacher_cache"),
            eval_cfg=config.eval, meta=meta, mesh=mesh)
        stages[teacher]["seconds"] = round(time.time() - began, 1)
        _write_stage(stage_path[teacher], stages[teacher])
    for name in pending:
        log.info("student %s: training %d seeds", name, config.students[name].train.n_seeds)
        began = time.time()
        stages[name] = run_student_stage(
            name, config.students[name], quantum_cfg=config.quantum, distill_cfg=config.distill, splits=splits,
            teacher_logits=teacher_logits, task=task, seed=config.seed, workdir=workdir, eval_cfg=config.eval,
            mesh=mesh)
        stages[name]["seconds"] = round(time.time() - began, 1)
        _write_stage(stage_path[name], stages[name])
    for name in names:
        if name not in stages:
            with open(stage_path[name]) as handle:
                stages[name] = json.load(handle)
            meta["notes"].append(f"{name}: finished earlier, re-reported from {stage_path[name]}")
    if not is_primary():
        return {"meta": meta}
    return _report(config, workdir, names, stages, meta, start, splits)


STUDIES.register(StudySpec(
    name="distill",
    description="Teacher -> students with and without KD, seeds x KD settings vmapped, one report",
    run=run,
    docs=distill_config.study_docs,
    check=distill_config.check,
    complete=distill_config.complete,
))
