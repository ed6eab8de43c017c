"""Result rows of a distillation stage: each member's metrics at its best validation epoch.

Model selection has already happened on validation inside the training loop; here the logits of
each member's best state are scored on test (the reported numbers) and on validation (kept beside
them so that a reader can see the selection), per window and per record.

Per-record scores: wherever a split cuts records into several windows that all carry their
record's label (``wfdb_folder`` and PTB-XL crops, ``arrays`` with a record column), the windows of
a record are averaged in logit space and the record is scored once. Beat datasets, whose records
hold beats of several classes, have no record label and get window scores only.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from ecgq.eval import metrics, op_energy
from ecgq.train import multiseed, steps


@dataclasses.dataclass(frozen=True)
class TaskInfo:
    """What every stage of one study shares: the label space and how results are reported."""

    n_outputs: int
    head: str
    multilabel: bool
    record_level: bool
    use_rr: bool


def record_labelled(split, several: bool = True) -> bool:
    """Whether every record's windows in ``split`` share one label (the label belongs to the
    recording, so a per-record score is defined) and, with ``several``, some record has more than
    one window (so the per-record score differs from the per-window one)."""
    records = np.asarray(split.record)
    ids, inverse = np.unique(records, return_inverse=True)
    if not len(records) or (several and len(ids) >= len(records)):
        return False
    y = np.asarray(split.y).reshape(len(records), -1)
    first = np.zeros(len(ids), dtype=np.int64)
    first[inverse[::-1]] = np.arange(len(records))[::-1]
    return bool(np.array_equal(y, y[first][inverse]))


def evaluate(logits: np.ndarray, split, task: TaskInfo) -> dict:
    """Metrics of one member's logits on a split: ``window`` always; ``record`` (the record's
    windows averaged in logit space) whenever the split is record-labelled (:func:`record_labelled`)."""
    probs = steps.probabilities(logits, task.head)
    out = {"window": metrics.classification_metrics(split.y, probs, task.multilabel)}
    if record_labelled(split, several=not task.record_level):
        rlogits, rl, _ = metrics.aggregate_by_record(np.asarray(logits), np.asarray(split.y), np.asarray(split.record))
        out["record"] = metrics.classification_metrics(rl, steps.probabilities(rlogits, task.head), task.multilabel)
    elif task.record_level:
        raise ValueError("eval.record_level=True but the split's records are not single-labelled windows "
                         "(beats of several classes, or one window per record)")
    return out


def scored_levels(test: dict, val: dict, task: TaskInfo) -> dict:
    """The level-dependent fields of a run: headline ``metrics`` (per record with eval.record_level),
    ``window_metrics`` and, when defined, ``record_metrics`` of the scored split, ``val_metrics``."""
    level = "record" if task.record_level else "window"
    out = {"level": level, "metrics": test[level], "window_metrics": test["window"], "val_metrics": val[level]}
    if "record" in test:
        out["record_metrics"] = test["record"]
    return out


def member_histories(history: dict, n_members: int) -> list[dict]:
    """Per-member histories from a fit history of per-epoch lists over members."""
    return [{"train_loss": [e[i] for e in history["train_loss"]],
             "val_metric": [e[i] for e in history["val_metric"]],
             "best_epoch": history["best_epoch"][i]} for i in range(n_members)]


def runs_of(model_name: str, members: list[multiseed.Member], logits: dict[str, np.ndarray], splits,
            histories: list[dict], profile: dict, task: TaskInfo, inspections: list[dict] | None = None) -> list[dict]:
    """One results.json ``runs`` entry per member: test metrics at its best validation epoch.

    ``inspections`` (the model's ``inspect`` hook on each trained member) give the member's own
    operation counts and spike rate; without them the operation-count energy estimate is the dense
    one of the model's FLOPs (:mod:`ecgq.eval.op_energy`), the same for every member.
    """
    runs = []
    for i, member in enumerate(members):
        test = evaluate(logits["test"][i], splits.test, task)
        val = evaluate(logits["val"][i], splits.val, task)
        runs.append({
            "model": model_name, "kd": member.kd,
            "temperature": member.temperature if member.kd else None,
            "alpha": member.alpha if member.kd else None,
            "seed": member.seed, "split": "test", **scored_levels(test, val, task),
            "best_epoch": histories[i]["best_epoch"], "epochs_run": len(histories[i]["train_loss"]),
            "params": profile["params"], "flops": profile["flops"], "latency_ms": profile["latency_ms"],
            "energy_mj": profile["energy_mj"], "energy_note": profile["energy_note"],
            **inspected(inspections[i] if inspections else {}, profile),
        })
    return runs


def inspected(inspection: dict, profile: dict) -> dict:
    """``energy_estimate`` (operation counts and pJ per sample), ``spike_rate`` (None for models that
    do not spike), ``nisq`` (test metrics under shots and noise, quantum students;
    :mod:`ecgq.distill.nisq_eval`) and the rest of the member's inspection (``inspection``: learned
    gate, entanglement...)."""
    rest = {k: v for k, v in inspection.items() if k not in ("operations", "spike_rate", "nisq")}
    return {"energy_estimate": inspection.get("operations") or op_energy.dense_operations(profile["flops"]),
            "spike_rate": inspection.get("spike_rate"), **({"nisq": inspection["nisq"]} if "nisq" in inspection else {}),
            **({"inspection": rest} if rest else {})}


def histories_by_setting(model_name: str, members, histories) -> dict[str, list[dict]]:
    """Training curves grouped as ``<model>/noKD`` or ``<model>/KD_T<T>_a<alpha>``, one per seed."""
    out: dict[str, list[dict]] = {}
    for member, h in zip(members, histories):
        setting = f"KD_T{member.temperature:g}_a{member.alpha:g}" if member.kd else "noKD"
        out.setdefault(f"{model_name}/{setting}", []).append(dict(h, seed=member.seed))
    return out


def stage_record(model_name: str, members, logits, splits, histories, profile, task: TaskInfo,
                 inspections: list[dict] | None = None) -> dict[str, Any]:
    """What a finished stage saves as ``stages/<model>.json``."""
    return {"runs": runs_of(model_name, members, logits, splits, histories, profile, task, inspections),
            "histories": histories_by_setting(model_name, members, histories)}
