"""The study report: ``results.json``, ``results.csv``, ``results.md`` and TensorBoard scalars.

``results.json`` is the contract with readers (and tests):

* ``runs``: one entry per model x KD setting x seed with ``model``, ``kd``, ``temperature``,
  ``alpha``, ``seed``, ``split``, ``metrics``, ``params``, ``flops``, ``latency_ms``, ``energy_mj``
  (plus ``best_epoch`` and ``val_metrics``: the validation scores behind model selection);
* ``summary``: one entry per model x KD setting with ``model``, ``kd``, ``temperature``, ``alpha``,
  ``n_seeds`` and ``metrics`` = ``{name: {"mean", "ci95"}}`` (95% t-interval over seeds), plus the
  profile of the model;
* ``meta``: study name, dataset, splits, seeds, and how often the teacher's forward pass ran.

No-KD runs carry ``kd = False`` and ``temperature = alpha = None``. Undefined values are ``null``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ecgq.atomic import write_json_atomic
from ecgq.eval.metrics import METRIC_NAMES, summarize

RUN_KEYS = ("model", "kd", "temperature", "alpha", "seed", "split", "metrics", "params", "flops",
            "latency_ms", "energy_mj")
SUMMARY_KEYS = ("model", "kd", "temperature", "alpha", "n_seeds", "metrics")


def _clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf become None, numpy scalars become Python numbers."""
    if isinstance(value, Mapping):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def setting_key(run: Mapping[str, Any]) -> tuple:
    return (run["model"], bool(run["kd"]), run["temperature"], run["alpha"], run["split"])


def build_summary(runs: Sequence[Mapping[str, Any]]) -> list[dict]:
    """Group runs by (model, KD setting, split) in first-seen order and summarise over seeds."""
    groups: dict[tuple, list[Mapping[str, Any]]] = {}
    for run in runs:
        groups.setdefault(setting_key(run), []).append(run)
    summary = []
    for (model, kd, temperature, alpha, split), members in groups.items():
        first = members[0]
        summary.append({
            "model": model, "kd": kd, "temperature": temperature, "alpha": alpha, "split": split,
            "n_seeds": len(members),
            "seeds": [m["seed"] for m in members],
            "metrics": summarize([m["metrics"] for m in members]),
            "params": first["params"], "flops": first["flops"],
            "latency_ms": first["latency_ms"], "energy_mj": first["energy_mj"],
        })
    return summary


def _fmt(stat: Mapping[str, Any] | None, digits: int = 3) -> str:
    if not stat or stat.get("mean") is None:
        return "n/a"
    if stat.get("ci95") is None:
        return f"{stat['mean']:.{digits}f}"
    return f"{stat['mean']:.{digits}f} ± {stat['ci95']:.{digits}f}"


def _setting(entry: Mapping[str, Any]) -> str:
    return f"KD T={entry['temperature']:g} a={entry['alpha']:g}" if entry["kd"] else "no KD"


def _params(entry: Mapping[str, Any]) -> str:
    p = entry.get("params") or {}
    text = f"{p.get('classical', 0):,}"
    return text + (f" + {p['quantum']:,}q" if p.get("quantum") else "")


def _latency(entry: Mapping[str, Any]) -> str:
    lat = (entry.get("latency_ms") or {}).get("cpu") or {}
    return " / ".join(f"{v:.3g}" if v is not None else "n/a" for v in lat.values()) or "n/a"


def summary_frame(summary: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per (model, setting): mean ± 95% CI over seeds of every metric, as display strings."""
    rows = []
    for e in summary:
        row = {"model": e["model"], "setting": _setting(e), "split": e["split"], "seeds": e["n_seeds"],
               "params": _params(e), "FLOPs/sample": f"{e['flops']:.3g}" if e.get("flops") else "n/a",
               "CPU ms/sample (bs)": _latency(e)}
        row.update({name: _fmt(e["metrics"].get(name)) for name in METRIC_NAMES})
        rows.append(row)
    return pd.DataFrame(rows)


def markdown_table(summary: Sequence[Mapping[str, Any]]) -> str:
    """The summary as a Markdown table: mean ± 95% CI over seeds of every metric."""
    return summary_frame(summary).to_markdown(index=False)


def runs_frame(runs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per run; metric, parameter and latency columns flattened."""
    rows = []
    for r in runs:
        row = {k: r.get(k) for k in ("model", "kd", "temperature", "alpha", "seed", "split", "best_epoch")}
        row.update({name: r["metrics"].get(name) for name in METRIC_NAMES})
        row["params_classical"] = (r.get("params") or {}).get("classical")
        row["params_quantum"] = (r.get("params") or {}).get("quantum")
        row["flops"], row["energy_mj"] = r.get("flops"), r.get("energy_mj")
        for dev, d in (r.get("latency_ms") or {}).items():
            for bs, v in d.items():
                row[f"latency_ms_{dev}_bs{bs}"] = v
        rows.append(_clean(row))
    frame = pd.DataFrame(rows)
    fixed = [c for c in frame.columns if not c.startswith("latency_ms_")]
    return frame[fixed + sorted(c for c in frame.columns if c.startswith("latency_ms_"))]


def write_csv(path: str, runs: Sequence[Mapping[str, Any]]) -> None:
    """``runs_frame(runs)`` as CSV."""
    runs_frame(runs).to_csv(path, index=False)


def write_tensorboard(logdir: str, summary: Sequence[Mapping[str, Any]],
                      histories: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """Scalars: per-epoch training loss / validation metric of every run, test metrics per setting."""
    from tensorboardX import SummaryWriter

    writer = SummaryWriter(logdir)
    try:
        for name, runs_history in histories.items():
            for h in runs_history:
                tag = f"{name}/seed{h['seed']}"
                for epoch, loss in enumerate(h["train_loss"]):
                    writer.add_scalar(f"train_loss/{tag}", loss, epoch)
                for epoch, score in enumerate(h["val_metric"]):
                    writer.add_scalar(f"val_selection_metric/{tag}", score, epoch)
        for e in summary:
            name = f"{e['model']}/" + "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in _setting(e))
            for metric, stat in e["metrics"].items():
                if stat["mean"] is not None:
                    writer.add_scalar(f"{e['split']}_{metric}/{name}", stat["mean"], 0)
    finally:
        writer.close()


def write_report(workdir: str, runs: Sequence[Mapping[str, Any]], meta: Mapping[str, Any],
                 histories: Mapping[str, Sequence[Mapping[str, Any]]] | None = None) -> dict[str, str]:
    """Write every report file into ``workdir``; return their paths by kind."""
    for run in runs:
        missing = [k for k in RUN_KEYS if k not in run]
        if missing:
            raise ValueError(f"run {run.get('model')} lacks keys {missing}")
    summary = build_summary(runs)
    paths = {
        "json": os.path.join(workdir, "results.json"),
        "csv": os.path.join(workdir, "results.csv"),
        "md": os.path.join(workdir, "results.md"),
        "tensorboard": os.path.join(workdir, "tensorboard"),
    }
    document = _clean({"meta": dict(meta), "runs": list(runs), "summary": summary})
    write_json_atomic(paths["json"], document)
    write_csv(paths["csv"], runs)
    title = meta.get("study_name", "study")
    with open(paths["md"], "w") as handle:
        handle.write(f"# {title}: results\n\n")
        handle.write(f"Dataset `{meta.get('dataset')}`; metrics on the **{meta.get('test_split', 'test')}** split "
                     f"as mean ± 95% CI (t-distribution) over seeds; model selection on validation only.\n\n")
        handle.write(markdown_table(document["summary"]) + "\n")
        notes = meta.get("notes") or []
        if notes:
            handle.write("\n" + "\n".join(f"- {n}" for n in notes) + "\n")
    write_tensorboard(paths["tensorboard"], document["summary"], histories or {})
    return paths


def print_summary(summary: Sequence[Mapping[str, Any]], paths: Mapping[str, str]) -> str:
    """The compact table printed at the end of a study, with the report paths."""
    cols = ("balanced_accuracy", "roc_auc", "f1_macro", "sensitivity", "specificity")
    lines = [f"{'model':<18}{'setting':<18}{'n':>3}  {'params':>14}  " + "  ".join(f"{c[:17]:>17}" for c in cols)]
    for e in summary:
        stats = "  ".join(f"{_fmt(e['metrics'][c]):>17}" for c in cols)
        lines.append(f"{e['model']:<18}{_setting(e):<18}{e['n_seeds']:>3}  {_params(e):>14}  {stats}")
    lines.append("Report: " + ", ".join(f"{k}={v}" for k, v in paths.items()))
    text = "\n".join(lines)
    print(text)
    return text
