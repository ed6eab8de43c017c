"""The distillation study (``config.study == "distill"``), end to end.

1. Load the splits (``ecgq.data``); model selection only ever looks at ``val``, ``test`` is
   touched once per model, after training.
2. Teacher: train the preset, or fine-tune ``config.teacher.checkpoint`` (head / last stages /
   full, per ``config.teacher.finetune``), then compute its logits on train/val/test once and cache
   them on disk, keyed by a hash of its parameters and of the inputs.
3. Students: for each, every seed x KD setting (plus the no-KD baseline) is one vmapped program
   (``ecgq.train``), checkpointed with Orbax, evaluated on test at its best validation epoch.
4. Profile (parameters, FLOPs, latency, energy) and write ``results.json/csv/md``, TensorBoard
   scalars and plots; print the summary table.

Each finished stage writes ``stages/<model>.json``; a rerun on the same workdir resumes an
interrupted stage from its last checkpoint and only re-reports finished ones.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ecgq.atomic import write_json_atomic
from ecgq.distill import teacher_cache
from ecgq.distill.losses import head_kind
from ecgq.eval import energy, metrics, plots, report
from ecgq.train import loop, multiseed, steps
from ecgq.train.pretrain import pretrain_autoencoder

log = logging.getLogger(__name__)
SPLITS = ("train", "val", "test")


class _QuietOrbax(logging.Filter):
    """Drop Orbax's per-save INFO chatter (dozens of lines per checkpoint) from the absl log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or "/orbax/" not in record.pathname.replace("\\", "/")


def _quiet_orbax() -> None:
    target = logging.getLogger("absl")
    if not any(isinstance(f, _QuietOrbax) for f in target.filters):
        target.addFilter(_QuietOrbax())


# ----------------------------------------------------------------------------------------------
# Small helpers


def _atomic_json(path: str, obj: Any) -> None:
    write_json_atomic(path, obj, default=lambda o: o.item() if hasattr(o, "item") else str(o))


def _split_arrays(split, x: np.ndarray | None = None, use_rr: bool = False) -> dict[str, np.ndarray]:
    data = {"x": np.asarray(split.x if x is None else x, np.float32), "y": np.asarray(split.y)}
    if use_rr:
        if split.rr is None:
            raise ValueError("config.use_rr=True but this dataset provides no RR features")
        data["rr"] = np.asarray(split.rr, np.float32)
    return data


def subsample_split(split, limit: int, seed: int):
    """At most ``limit`` windows of ``split``, drawn per class in proportion (0 = unchanged).

    For smoke runs on big datasets; the kept windows are sorted so the split keeps its order.
    """
    import dataclasses

    n = len(split.y)
    if not limit or limit >= n:
        return split
    rng = np.random.default_rng(seed)
    y = np.asarray(split.y)
    strata = y if y.ndim == 1 else np.zeros(n, int)
    keep = []
    for c in np.unique(strata):
        idx = np.flatnonzero(strata == c)
        take = max(1, int(round(limit * len(idx) / n)))
        keep.append(rng.choice(idx, size=min(take, len(idx)), replace=False))
    keep = np.sort(np.concatenate(keep))
    fields = {f.name: getattr(split, f.name) for f in dataclasses.fields(split)}
    return dataclasses.replace(split, **{k: (v[keep] if isinstance(v, np.ndarray) else v) for k, v in fields.items()})


def _seeds(base: int, n: int) -> list[int]:
    return [int(base) + i for i in range(int(n))]


def _stack(tree, n: int):
    return jax.tree_util.tree_map(lambda a: jnp.broadcast_to(a, (n,) + a.shape), tree)


def _check_workdir_config(config: ml_collections.ConfigDict, workdir: str) -> None:
    """Refuse to mix two different studies in one workdir (stale stages would be re-reported)."""
    path = os.path.join(workdir, "config.json")
    current = json.loads(config.to_json_best_effort())
    if os.path.exists(path):
        with open(path) as handle:
            previous = json.load(handle)
        if previous != current:
            raise ValueError(f"{workdir} holds a study run with a different config ({path}); "
                             "use a new --workdir, or delete this one to start over")
    else:
        _atomic_json(path, current)


# ----------------------------------------------------------------------------------------------
# Evaluation and profiling


def _evaluate(logits: np.ndarray, split, head: str, multilabel: bool, record_level: bool) -> dict:
    """Metrics of one member's logits on a split (per record when asked, windows otherwise)."""
    probs = steps.probabilities(logits, head)
    out = {"window": metrics.classification_metrics(split.y, probs, multilabel)}
    if record_level:
        rp, rl, _ = metrics.aggregate_by_record(probs, np.asarray(split.y), np.asarray(split.record))
        out["record"] = metrics.classification_metrics(rl, rp, multilabel)
    return out


def _profile(model, variables, input_shape: tuple[int, ...], rr_dim: int | None,
             eval_cfg: ml_collections.ConfigDict) -> dict:
    """Parameters (classical / quantum), FLOPs per sample, latency per sample, energy per sample."""
    from ecgq import profiling
    from ecgq.models import count_params

    counts = count_params(variables)
    out: dict[str, Any] = {"params": counts, "flops": None, "latency_ms": {}, "energy_mj": None,
                           "energy_note": None}
    if not eval_cfg.profile:
        out["energy_note"] = "profiling disabled (eval.profile=False)"
        return out

    if rr_dim:
        apply = lambda v, x: model.apply(v, x, jnp.zeros((x.shape[0], rr_dim), x.dtype))  # noqa: E731
    else:
        apply = lambda v, x: model.apply(v, x)  # noqa: E731
    x1 = jnp.zeros((1,) + tuple(input_shape), jnp.float32)
    try:
        out["flops"] = profiling.count_flops(apply, variables, x1)
    except RuntimeError as error:
        log.warning("FLOPs unavailable: %s", error)
    batch_sizes = tuple(int(b) for b in eval_cfg.latency_batch_sizes)
    cpu = jax.devices("cpu")[0]
    with jax.default_device(cpu):
        cpu_vars = jax.device_put(variables, cpu)
        out["latency_ms"]["cpu"] = {str(b): v for b, v in profiling.measure_latency(
            apply, cpu_vars, input_shape, batch_sizes, budget_s=5.0).items()}
    if jax.default_backend() != "cpu":
        out["latency_ms"][jax.default_backend()] = {str(b): v for b, v in profiling.measure_latency(
            apply, variables, input_shape, batch_sizes, budget_s=5.0).items()}
    if eval_cfg.energy:
        batch = max(batch_sizes)
        jitted = jax.jit(apply)
        xb = jnp.zeros((batch,) + tuple(input_shape), jnp.float32)
        reading = energy.measure_energy(lambda: jax.block_until_ready(jitted(variables, xb)), batch,
                                        float(eval_cfg.energy_min_seconds))
        out["energy_mj"] = reading.mj_per_sample
        out["energy_note"] = reading.reason or f"{reading.source}, batch {batch}, whole-device counter"
    else:
        out["energy_note"] = "energy measurement disabled (eval.energy=False)"
    return out


def _runs_of(model_name: str, members: list[multiseed.Member], logits: dict[str, np.ndarray],
             splits, histories: list[dict], profile: dict, head: str, multilabel: bool,
             record_level: bool) -> list[dict]:
    """One results.json ``runs`` entry per member: test metrics at its best validation epoch."""
    runs = []
    level = "record" if record_level else "window"
    for i, member in enumerate(members):
        test = _evaluate(logits["test"][i], splits.test, head, multilabel, record_level)
        val = _evaluate(logits["val"][i], splits.val, head, multilabel, record_level)
        runs.append({
            "model": model_name, "kd": member.kd,
            "temperature": member.temperature if member.kd else None,
            "alpha": member.alpha if member.kd else None,
            "seed": member.seed, "split": "test", "level": level,
            "metrics": test[level], "window_metrics": test["window"], "val_metrics": val[level],
            "best_epoch": histories[i]["best_epoch"], "epochs_run": len(histories[i]["train_loss"]),
            "params": profile["params"], "flops": profile["flops"], "latency_ms": profile["latency_ms"],
            "energy_mj": profile["energy_mj"], "energy_note": profile["energy_note"],
        })
    return runs


def _histories_by_setting(model_name: str, members, histories) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for member, h in zip(members, histories):
        setting = f"KD_T{member.temperature:g}_a{member.alpha:g}" if member.kd else "noKD"
        out.setdefault(f"{model_name}/{setting}", []).append(dict(h, seed=member.seed))
    return out


# ----------------------------------------------------------------------------------------------
# Stages


def logits_by_record(teacher_logits: np.ndarray, teacher_records: np.ndarray,
                     student_records: np.ndarray) -> np.ndarray:
    """Teacher logits for each student window: the mean teacher logit of the window's record.

    Used when the teacher sees its own view of the data (e.g. 10 s of 12-lead PTB-XL at 500 Hz)
    and the students see crops of the same records.
    """
    ids, inverse = np.unique(np.asarray(teacher_records), return_inverse=True)
    sums = np.zeros((len(ids), teacher_logits.shape[1]))
    np.add.at(sums, inverse, teacher_logits)
    means = sums / np.bincount(inverse, minlength=len(ids))[:, None]
    position = {r: i for i, r in enumerate(ids)}
    missing = sorted({r for r in student_records if r not in position})
    if missing:
        raise ValueError(f"the teacher's data lack records {missing[:5]}... that the students see")
    return means[[position[r] for r in student_records]].astype(np.float32)


def _teacher_stage(config, workdir, student_splits, n_outputs, head, multilabel, meta) -> tuple[dict, dict]:
    """Train/fine-tune the teacher; return (stage record, teacher logits per student window)."""
    from ecgq.data import load_splits
    from ecgq.models import build_model, trainable_mask
    from ecgq.models import teacher as teacher_lib

    tcfg = config.teacher
    own_view = "teacher_data" in config
    splits = load_splits(config.teacher_data) if own_view else student_splits
    info = splits.info
    x = {s: teacher_lib.adapt_inputs(getattr(splits, s).x, info.lead_names, info.sampling_rate, tcfg)
         for s in SPLITS}
    data = {s: _split_arrays(getattr(splits, s), x[s], config.use_rr) for s in SPLITS}
    model = build_model(tcfg.name, tcfg, n_outputs)
    members = [multiseed.Member(s) for s in _seeds(config.seed, tcfg.train.n_seeds)]
    init_params = None
    if tcfg.checkpoint:
        _, variables = teacher_lib.load_teacher(tcfg, n_outputs, jax.random.PRNGKey(config.seed))
        init_params = _stack(variables["params"], len(members))
        meta["notes"].append(f"teacher initialised from {tcfg.checkpoint} (finetune={tcfg.finetune})")
    result = loop.fit(
        model=model, members=members, cfg=tcfg.train, train=data["train"], val=data["val"], head=head,
        multilabel=multilabel, data_seed=config.seed, ckpt_dir=os.path.join(workdir, "checkpoints", "teacher"),
        desc=f"teacher {tcfg.name}", init_params=init_params,
        trainable_fn=lambda p: trainable_mask(tcfg.name, tcfg, p),
    )
    multi_eval = multiseed.make_multi_eval(steps.make_eval_step(tcfg.train.compute_dtype))
    first = jax.tree_util.tree_map(lambda a: a[:1], result.best_state)
    teacher_id = teacher_cache.fingerprint(first.params, first.batch_stats, tcfg.name)
    cache_dir = config.distill.cache_dir or os.path.join(workdir, "teacher_cache")
    logits, computed = {}, {}
    for s in SPLITS:
        dataset_id = teacher_cache.fingerprint(data[s]["x"], info.name, s)
        logits[s], hit = teacher_cache.cached_logits(
            cache_dir, teacher_id, dataset_id, s,
            lambda s=s: multiseed.predict(multi_eval, first, data[s], int(tcfg.train.eval_batch_size))[0])
        computed[s] = 0 if hit else 1
    meta["teacher_forward_passes"] = computed
    meta["teacher_id"] = teacher_id[:16]
    student_logits = logits
    if own_view:
        student_logits = {s: logits_by_record(logits[s], getattr(splits, s).record,
                                              getattr(student_splits, s).record) for s in SPLITS}
        meta["notes"].append(f"teacher sees its own view ({info.name}, {len(info.lead_names)} leads at "
                             f"{info.sampling_rate:g} Hz); students get its mean logit per record")

    if len(members) > 1:  # the extra teacher seeds only report the teacher's own spread
        all_logits = {s: multiseed.predict(multi_eval, result.best_state, data[s], int(tcfg.train.eval_batch_size))
                      for s in ("val", "test")}
    else:
        all_logits = {s: logits[s][None] for s in ("val", "test")}
    histories = [{"train_loss": [e[i] for e in result.history["train_loss"]],
                  "val_metric": [e[i] for e in result.history["val_metric"]],
                  "best_epoch": result.history["best_epoch"][i]} for i in range(len(members))]
    variables = {"params": jax.tree_util.tree_map(lambda a: a[0], result.best_state.params)}
    if result.best_state.batch_stats:
        variables["batch_stats"] = jax.tree_util.tree_map(lambda a: a[0], result.best_state.batch_stats)
    profile = _profile(model, variables, data["train"]["x"].shape[1:],
                       data["train"]["rr"].shape[1] if config.use_rr else None, config.eval)
    runs = _runs_of(tcfg.name, members, all_logits, splits, histories, profile, head, multilabel,
                    bool(config.eval.record_level))
    return {"runs": runs, "histories": _histories_by_setting(tcfg.name, members, histories)}, student_logits


def _student_stage(name, config, workdir, splits, teacher_logits, n_outputs, head, multilabel) -> dict:
    from ecgq.models import build_model, trainable_mask

    scfg = config.students[name]
    tcfg = scfg.train
    model = build_model(name, scfg, n_outputs, config.quantum)
    data = {s: _split_arrays(getattr(splits, s), use_rr=config.use_rr) for s in SPLITS}
    seeds = _seeds(config.seed, tcfg.n_seeds)
    dcfg = config.distill
    members = multiseed.member_grid(seeds, dcfg.temperatures, dcfg.alphas, dcfg.include_no_kd)
    ckpt_root = os.path.join(workdir, "checkpoints", name)

    init_params = None
    if "pretrain" in scfg and scfg.pretrain.epochs > 0:
        per_seed = pretrain_autoencoder(model, seeds, data["train"]["x"], scfg.pretrain, config.seed,
                                        os.path.join(ckpt_root, "pretrain"), bool(tcfg.progress))
        index = jnp.asarray([seeds.index(m.seed) for m in members])
        init_params = jax.tree_util.tree_map(lambda a: a[index], per_seed)

    train = dict(data["train"], teacher=teacher_logits["train"])
    histories, logits = loop.chunked_fit(
        model=model, members=members, cfg=tcfg, train=train, val=data["val"], head=head,
        multilabel=multilabel, data_seed=config.seed, ckpt_root=ckpt_root, desc=name,
        predict_splits={"val": data["val"], "test": data["test"]}, init_params=init_params,
        trainable_fn=lambda p: trainable_mask(name, scfg, p),
    )
    x1 = jnp.zeros((1,) + data["train"]["x"].shape[1:], jnp.float32)
    rr1 = jnp.zeros((1, data["train"]["rr"].shape[1]), jnp.float32) if config.use_rr else None
    variables = model.init(jax.random.PRNGKey(config.seed), x1, rr1)
    profile = _profile(model, variables, data["train"]["x"].shape[1:],
                       data["train"]["rr"].shape[1] if config.use_rr else None, config.eval)
    runs = _runs_of(name, members, logits, splits, histories, profile, head, multilabel,
                    bool(config.eval.record_level))
    return {"runs": runs, "histories": _histories_by_setting(name, members, histories)}


# ----------------------------------------------------------------------------------------------
# The study


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Run (or resume, or re-report) the distillation study of ``config`` in ``workdir``."""
    from ecgq.data import load_splits
    from ecgq.data.summary import check_disjoint

    start = time.time()
    _quiet_orbax()
    workdir = os.path.abspath(workdir)
    os.makedirs(workdir, exist_ok=True)
    _check_workdir_config(config, workdir)
    stage_dir = os.path.join(workdir, "stages")
    names = [config.teacher.name] + list(config.student_names)
    stage_path = {n: os.path.join(stage_dir, f"{n}.json") for n in names}

    splits = load_splits(config.data)
    info = splits.info
    leaky = bool(config.data.get("intra_patient", False))
    if not leaky:
        check_disjoint(splits)  # no patient may be in two splits: refuse to train otherwise
    sub = config.subsample
    if sub.train or sub.val or sub.test:
        import dataclasses

        splits = dataclasses.replace(splits, **{
            s: subsample_split(getattr(splits, s), int(sub[s]), int(sub.seed) + i) for i, s in enumerate(SPLITS)})
    n_outputs = len(info.class_names)
    head = head_kind(n_outputs, info.multilabel)
    meta: dict[str, Any] = {
        "study_name": config.study_name, "dataset": info.name, "task": info.task,
        "class_names": list(info.class_names), "multilabel": info.multilabel, "head": head,
        "test_split": "test", "selection": f"best {config.teacher.train.selection_metric} on val",
        "n": {s: int(len(getattr(splits, s).y)) for s in SPLITS},
        "backend": jax.default_backend(), "devices": [str(d) for d in jax.devices()],
        "notes": [], "teacher_forward_passes": {s: 0 for s in SPLITS},
    }
    if leaky:
        meta["notes"].append("LEAKY intra-patient split (data.intra_patient=True): the same patients are "
                             "in train and test; these numbers are not a patient-level result")
    if sub.train or sub.val or sub.test:
        meta["notes"].append(f"SUBSAMPLED splits: at most {sub.train}/{sub.val}/{sub.test} "
                             "train/val/test windows (0 = all), class-stratified")

    stages: dict[str, dict] = {}
    teacher_logits = None
    pending_students = [n for n in config.student_names if not os.path.exists(stage_path[n])]
    if pending_students or not os.path.exists(stage_path[config.teacher.name]):
        began = time.time()
        stages[config.teacher.name], teacher_logits = _teacher_stage(
            config, workdir, splits, n_outputs, head, info.multilabel, meta)
        stages[config.teacher.name]["seconds"] = round(time.time() - began, 1)
        log.info("teacher stage: %.0f s", time.time() - began)
        _atomic_json(stage_path[config.teacher.name], stages[config.teacher.name])
    for name in config.student_names:
        if name in pending_students:
            log.info("student %s: training %d seeds", name, config.students[name].train.n_seeds)
            began = time.time()
            stages[name] = _student_stage(name, config, workdir, splits, teacher_logits, n_outputs, head,
                                          info.multilabel)
            stages[name]["seconds"] = round(time.time() - began, 1)
            log.info("student %s stage: %.0f s", name, time.time() - began)
            _atomic_json(stage_path[name], stages[name])
    for name in names:
        if name not in stages:
            with open(stage_path[name]) as handle:
                stages[name] = json.load(handle)
            meta["notes"].append(f"{name}: finished earlier, re-reported from {stage_path[name]}")

    runs = [r for n in names for r in stages[n]["runs"]]
    histories = {k: v for n in names for k, v in stages[n]["histories"].items()}
    meta["stage_seconds"] = {n: stages[n].get("seconds") for n in names}
    meta["wall_seconds_this_invocation"] = round(time.time() - start, 1)
    if runs and runs[0].get("level") == "record":
        meta["notes"].append("metrics are per record (mean window probability); window-level ones in window_metrics")
    energy_notes = {r["energy_note"] for r in runs if r.get("energy_mj") is None and r.get("energy_note")}
    meta["notes"].extend(f"energy unavailable: {n}" for n in sorted(energy_notes))
    paths = report.write_report(workdir, runs, meta, histories)
    summary = report.build_summary(runs)
    if config.eval.plots:
        paths["plot_accuracy_vs_params"] = plots.accuracy_vs_params(
            summary, os.path.join(workdir, "balanced_accuracy_vs_params.png"))
        for i, p in enumerate(plots.kd_heatmaps(summary, workdir)):
            paths[f"plot_kd_heatmap_{i}"] = p
        paths["plot_training_curves"] = plots.training_curves(histories, os.path.join(workdir, "training_curves.png"))
    print(f"\n{config.study_name}: {info.name} ({info.task}), test-split metrics, mean ± 95% CI over seeds "
          f"(selection on val); {time.time() - start:.0f} s")
    report.print_summary(summary, paths)
    return {"paths": paths, "summary": summary, "meta": meta}
