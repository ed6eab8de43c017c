"""Study ``qvit``: the distillation study of ViT and QViT students, plus what the circuits cost.

    python launch.py --config=experiments/qvit_medmnist.py:quick --config.data.subset=breastmnist \
        --config.data.data_dir=$ECGQ_DATA/medmnist --workdir=runs/qvit_breast

1. The distillation engine (:mod:`ecgq.studies.distill`) trains the classical teacher first, then
   every student (``vit``, ``qvit``, ``vit_2h``, ``qvit_2h``), each with the KD setting(s) of
   ``distill`` and the no-KD baseline, all seeds as one vmapped program; test metrics at the best
   validation epoch, mean and 95% CI over seeds.
2. Timing (``timing.json``): the engine's own vmapped training step (all members of the study, its
   batch size) of every student, as seconds per epoch (step time x steps per epoch); and for each
   quantum student the same step with every circuit replaced by a free stand-in of the same shapes
   (``cos`` of the angles: the ``<Z>`` of the RX encoding alone, no simulation), so that
   ``1 - stand-in / qvit`` is the share of the step the simulated circuits take.
3. ``qvit_table.md`` and the printed table: ROC AUC (macro over classes for multi-class, over
   labels for multi-label) and accuracy (mean ± 95% CI over seeds, test split), parameters
   (classical / quantum), XLA GFLOPs per image of the simulated model, seconds per epoch.
"""

from __future__ import annotations

import os

import ml_collections
import numpy as np

from ecgq.atomic import write_json_atomic
from ecgq.errors import ConfigError
from ecgq.studies import distill_config
from ecgq.studies.registry import STUDIES, StudySpec

TIMING_DOCS = {
    "timing.steps": "Training steps per timed run (their mean is one sample); 0 = skip the timing.",
    "timing.repeats": "Timed runs after a compiling and a warm-up run; the median is reported.",
}


def timing_config() -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict({"steps": 3, "repeats": 3})


class _Batches:
    """Random inputs of the data's shape and the batch indices every timed run reuses (duck-types
    :class:`ecgq.studies.bench_train_step._Data`)."""

    def __init__(self, shape, n_outputs: int, batch: int, steps: int, seed: int):
        rng = np.random.default_rng(seed)
        n = max(4 * batch, 256)
        self.x = rng.uniform(size=(n, *shape)).astype(np.float32)
        self.y = rng.integers(0, n_outputs, n).astype(np.int32)
        self.idx = rng.integers(0, n, (steps, batch)).astype(np.int32)


def time_students(config, input_shape, n_train: int, n_outputs: int) -> dict:
    """Seconds per step and per epoch of each student's engine step, and the circuits' share."""
    from ecgq.models import build_model, model_spec
    from ecgq.models.transformer import FreeMap, VisionTransformer
    from ecgq.models.vit import transformer_from_config
    from ecgq.studies.bench_train_step import ecgq_call, time_runs
    from ecgq.train.steps import steps_per_epoch

    tcfg = config.timing
    n_settings = len(config.distill.temperatures) * len(config.distill.alphas) + bool(config.distill.include_no_kd)
    out = {}
    for name in config.student_names:
        scfg = config.students[name]
        members = int(scfg.train.n_seeds) * n_settings
        data = _Batches(input_shape, n_outputs, int(scfg.train.batch_size), int(tcfg.steps), config.seed)
        per_epoch = steps_per_epoch(n_train, int(scfg.train.batch_size))
        variants = {"model": build_model(name, scfg, n_outputs, config.quantum)}
        if model_spec(name).uses_quantum and isinstance(variants["model"], VisionTransformer):
            mlp = (lambda w: FreeMap(w, name="circuit")) if scfg.quantum_mlp else None
            variants["circuits_free"] = transformer_from_config(
                scfg, n_outputs, map_factory=lambda w: (FreeMap, {"width": w}), mlp_map=mlp)
        row = {"members": members, "batch_size": int(scfg.train.batch_size), "steps_per_epoch": per_epoch}
        for label, model in variants.items():
            run = ecgq_call(name, model, "vmap", members, data, {})
            timed = time_runs(run, int(tcfg.steps), 1, int(tcfg.repeats))
            row[f"{label}_step_s"] = timed["seconds"]
            row[f"{label}_epoch_s"] = timed["seconds"] * per_epoch
        if "circuits_free_step_s" in row:
            row["circuit_share"] = max(0.0, 1.0 - row["circuits_free_step_s"] / row["model_step_s"])
        out[name] = row
    return out


def _fmt(stat) -> str:
    return "n/a" if not stat or stat.get("mean") is None else f"{stat['mean']:.3f} ± {stat.get('ci95') or 0:.3f}"


def table(summary: list[dict], timing: dict, split_note: str) -> str:
    """The study's table in Markdown: one row per model and KD setting."""
    lines = [f"{split_note}", "",
             "| model | setting | seeds | ROC AUC | accuracy | params (classical / quantum) | GFLOPs/image | s/epoch |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for e in summary:
        setting = f"KD T={e['temperature']:g} a={e['alpha']:g}" if e["kd"] else "scratch (no KD)"
        p = e.get("params") or {}
        gflops = f"{e['flops'] / 1e9:.2e}" if e.get("flops") else "n/a"
        epoch = timing.get(e["model"], {}).get("model_epoch_s")
        lines.append(f"| {e['model']} | {setting} | {e['n_seeds']} | {_fmt(e['metrics'].get('roc_auc'))} | "
                     f"{_fmt(e['metrics'].get('accuracy'))} | {p.get('classical', 0):,} / {p.get('quantum', 0):,} | "
                     f"{gflops} | {'n/a' if epoch is None else f'{epoch:.2f}'} |")
    shares = {n: t["circuit_share"] for n, t in timing.items() if "circuit_share" in t}
    if shares:
        lines += ["", "Share of the QViT training step spent simulating circuits (1 - step with free stand-ins / "
                  "step): " + ", ".join(f"{n} {s:.0%}" for n, s in shares.items())]
    return "\n".join(lines)


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
    from ecgq.studies import distill

    from ecgq.train.distributed import is_primary

    result = distill.run(config, workdir)
    if not is_primary():  # several hosts: process 0 times and reports
        return result
    meta = result["meta"]
    timing = {}
    if int(config.timing.steps) > 0:
        splits, _ = distill.load_study_splits(config, {"notes": []})
        timing = time_students(config, splits.train.x.shape[1:], len(splits.train), len(splits.info.class_names))
        write_json_atomic(os.path.join(workdir, "timing.json"), timing)
    note = (f"{meta['dataset']} ({config.data.get('subset') or meta['task']}): test split (n={meta['n']['test']}), "
            f"mean ± 95% CI over seeds, selection on val; train n={meta['n']['train']}")
    text = table(result["summary"], timing, note)
    with open(os.path.join(workdir, "qvit_table.md"), "w") as handle:
        handle.write(text + "\n")
    print("\n" + text)
    return dict(result, timing=timing)


def docs(config: ml_collections.ConfigDict) -> dict[str, str]:
    return {**distill_config.study_docs(config), **TIMING_DOCS}


def check(config: ml_collections.ConfigDict) -> None:
    distill_config.check(config)
    for key in ("steps", "repeats"):
        if int(config.timing[key]) < (0 if key == "steps" else 1):
            raise ConfigError(f"--config.timing.{key} must be >= {0 if key == 'steps' else 1}, got {config.timing[key]}.")


STUDIES.register(StudySpec(
    name="qvit",
    description="Distillation of ViT / QViT students (1 and 2 heads, KD vs scratch) + their training time "
                "and the circuits' share of it",
    run=run,
    docs=docs,
    check=check,
    complete=distill_config.complete,
))
