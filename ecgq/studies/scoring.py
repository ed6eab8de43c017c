"""Every trained member of a finished distillation workdir, scored on another dataset.

Why here and not in the distillation stages: a stage scores the split it trained beside; this scores
weights that already exist (the best-on-validation state of every member, restored from the Orbax
checkpoints with :func:`ecgq.train.checkpoints.restore_best_members`) on data that each model
first sees now, brought to its view by :mod:`ecgq.studies.transfer`. Model selection stays that of
the source study: the runs keep its validation scores (so the report's KD setting is still chosen
on the source's validation) and its parameter counts, FLOPs and latencies.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable

import ml_collections
import numpy as np

from ecgq.errors import UserError
from ecgq.studies import model_views, transfer


@dataclasses.dataclass(frozen=True)
class Source:
    """A finished distillation workdir: its config, its models' views and its stage records."""

    workdir: str
    config: ml_collections.ConfigDict
    inputs: dict
    stages: dict[str, dict]
    loaded: dict = dataclasses.field(default_factory=dict)  # name -> (jitted forward, weights), read once

    @property
    def study_name(self) -> str:
        return str(self.config.get("study_name", "distill"))


def load_source(workdir: str, models: tuple[str, ...] = ()) -> Source:
    """The workdir's config, ``model_inputs.json`` and the stage record of every (chosen) model."""
    from ecgq.studies.distill import quiet_orbax

    quiet_orbax()
    workdir = os.path.abspath(os.path.expanduser(str(workdir)))
    inputs = model_views.read(workdir)
    with open(os.path.join(workdir, "config.json")) as handle:
        config = ml_collections.ConfigDict(json.load(handle))
    unknown = [m for m in models if m not in inputs["models"]]
    if unknown:
        raise UserError(f"--config.models names {unknown}, which {workdir} did not train; it has "
                        f"{list(inputs['models'])}.")
    stages = {}
    for name in models or tuple(inputs["models"]):
        path = os.path.join(workdir, "stages", f"{name}.json")
        if not os.path.exists(path):
            raise UserError(f"--config.source_workdir={workdir}: model {name} has not finished ({path} is missing); "
                            "finish the study first (rerun its launch command) or leave the model out with "
                            "--config.models.")
        with open(path) as handle:
            stages[name] = json.load(handle)
    return Source(workdir, config, inputs, stages)


def model_config(source: Source, name: str) -> ml_collections.ConfigDict:
    role = source.inputs["models"][name]["role"]
    return source.config.teacher if role == "teacher" else source.config.students[name]


def member_logits(source: Source, name: str, data: dict[str, np.ndarray], n_outputs: int,
                  batch_size: int = 256) -> np.ndarray:
    """Logits ``(members, n, outputs)`` of every member of ``name`` at its best validation epoch."""
    import jax

    from ecgq.models import build_model
    from ecgq.train.checkpoints import restore_best_members
    from ecgq.train.multiseed import predict

    use_rr = "rr" in data
    if name not in source.loaded:  # restored and compiled once, however many datasets are scored
        role = source.inputs["models"][name]["role"]
        model = build_model(name, model_config(source, name), n_outputs,
                            None if role == "teacher" else source.config.quantum)
        root = os.path.join(source.workdir, "checkpoints", "teacher" if role == "teacher" else name)
        best = restore_best_members(root)
        if best is None:
            raise UserError(f"--config.source_workdir={source.workdir}: no checkpoint of {name} under {root}; the "
                            "study's checkpoints were deleted or never written.")

        def forward(variables, x, rr):
            return model.apply(variables, x, rr if use_rr else None)

        source.loaded[name] = (jax.jit(jax.vmap(forward, in_axes=(0, None, None))), best)
    multi, best = source.loaded[name]
    batch = {k: v for k, v in data.items() if k in ("x", "rr")}
    if not use_rr:
        batch["rr"] = np.zeros((len(data["x"]), 1), np.float32)  # a placeholder the model never reads
    return predict(lambda v, b: multi(v, b["x"], b["rr"]), best, batch, batch_size)


def model_inputs_x(source: Source, name: str, split, info) -> np.ndarray:
    """The windows a model reads: a teacher's through its ``adapt_inputs`` (as in its stage)."""
    from ecgq.models import model_spec

    if source.inputs["models"][name]["role"] != "teacher":
        return split.x
    adapt = model_spec(name).adapt_inputs
    return split.x if adapt is None else adapt(split.x, info.lead_names, info.sampling_rate, model_config(source, name))


def score_dataset(source: Source, data_cfg, *, split: str = "test", class_map: str = "", label: str = "",
                  select: Callable | None = None, batch_size: int = 256) -> tuple[list[dict], dict]:
    """Runs of every member of every model of ``source`` on ``split`` of ``data_cfg``, and facts for the
    report (``n`` windows/records per view, notes). ``select(split, info) -> split`` keeps only some
    windows (the noise-stress study's noisy segments). ``label`` names the scored split in the runs."""
    from ecgq.data import load_splits
    from ecgq.distill.results import TaskInfo, evaluate, record_labelled
    from ecgq.train.objectives import head_kind

    views = source.inputs["views"]
    chosen = list(source.stages)
    first_view = views["student"]
    n_outputs = len(first_view["class_names"])
    multilabel = bool(first_view["multilabel"])
    head = head_kind(n_outputs, multilabel)
    label = label or f"{data_cfg.name} {split}"
    runs, facts = [], {"n": {}, "notes": [], "data": {}}
    for view_name in sorted({source.inputs["models"][m]["view"] for m in chosen}, reverse=True):
        view = views[view_name]
        cfg = transfer.view_data_config(data_cfg, view)
        splits = load_splits(cfg)
        scored = getattr(splits, split)
        info = splits.info
        if select is not None:
            scored = select(scored, info)
        if not len(scored):
            raise UserError(f"--config.split={split!r}: dataset {info.name} has no windows there; choose a split "
                            "that holds its records (wfdb_beats.split='all_test' puts every record in test).")
        shared, same = transfer.overlap_with_training(views, cfg, scored.record, scored.patient)
        if shared and same:
            raise UserError(f"--config.data: records/patients {shared[:6]} of {info.name} ({cfg.data_dir or 'default folder'}) "
                            f"trained or validated the models of {source.workdir}; scoring them would report training "
                            "patients as held-out ones. Leave them out (e.g. wfdb_beats.records) or score another "
                            "database.")
        if shared:
            facts["notes"].append(f"records {shared[:6]} share ids with the source's training records (another "
                                  "folder, so presumably other recordings); if they are the same recordings these "
                                  "scores are not held-out")
        own_test = sorted(set(view["records"]["test"]) & set(map(str, scored.record)))
        if own_test and transfer.same_database(view, cfg):
            facts["notes"].append(f"records {own_test[:6]}{' ...' if len(own_test) > 6 else ''} are the source "
                                  "study's own test records (the same database): these scores are not new data")
        index = transfer.class_index(info.class_names, view["class_names"], class_map, multilabel, info.name)
        scored = transfer.adapt_split(scored, info, view, index, "--config.data")
        facts["n"][view_name] = {"windows": int(len(scored)), "records": int(len(set(scored.record)))}
        facts["data"][view_name] = {"dataset": info.name, "task": info.task, "class_names": list(info.class_names),
                                    "sampling_rate": float(info.sampling_rate),
                                    "lead_names": list(info.lead_names)}
        task = TaskInfo(n_outputs=n_outputs, head=head, multilabel=multilabel,
                        record_level=bool(source.config.eval.get("record_level", False))
                        and record_labelled(scored, several=False), use_rr=bool(view["rr_features"]))
        for name in (m for m in chosen if source.inputs["models"][m]["view"] == view_name):
            data = {"x": np.asarray(model_inputs_x(source, name, scored, info), np.float32)}
            if task.use_rr:
                data["rr"] = scored.rr
            logits = member_logits(source, name, data, n_outputs, batch_size)
            stage_runs = source.stages[name]["runs"]
            if len(stage_runs) != len(logits):
                raise UserError(f"--config.source_workdir={source.workdir}: {name} has {len(logits)} checkpointed "
                                f"members but {len(stage_runs)} results; the workdir is inconsistent, rerun its study.")
            for run, member_logit in zip(stage_runs, logits):
                out = evaluate(member_logit, scored, task)
                level = "record" if task.record_level else "window"
                entry = {k: v for k, v in run.items() if k not in ("metrics", "window_metrics", "record_metrics")}
                entry.update(split=label, level=level, metrics=out[level], window_metrics=out["window"],
                             n_windows=int(len(scored)), n_records=int(len(set(scored.record))))
                if "record" in out:
                    entry["record_metrics"] = out["record"]
                runs.append(entry)
    return runs, facts
