"""The study report: ``results.json``, ``results.csv``, ``results.md`` and TensorBoard scalars.

``results.json`` is the contract with readers (and tests):

* ``runs``: one entry per model x KD setting x seed with ``model``, ``kd``, ``temperature``,
  ``alpha``, ``seed``, ``split``, ``metrics``, ``params``, ``flops``, ``latency_ms``, ``energy_mj``
  (plus ``best_epoch`` and ``val_metrics``: the validation scores behind model selection);
* ``summary``: one entry per model x KD setting with ``model``, ``kd``, ``temperature``, ``alpha``,
  ``n_seeds`` and ``metrics`` = ``{name: {"mean", "ci95"}}`` (95% t-interval over seeds), plus the
  profile of the model;
* ``kd_comparison``: one entry per model with KD runs (:func:`ecgq.eval.kd_comparison.compare`):
  the KD setting chosen on *validation* (``selection``: metric, rule, every candidate's val mean),
  the ``baseline`` used (``kind`` ``"no_kd"`` or ``"alpha0"``), the paired ``seeds``/``n_pairs``,
  and ``differences`` = ``{metric: {"mean_diff", "ci95": [lo, hi], "p_ttest", "p_wilcoxon",
  "n_pairs", "notes", ...}}`` of KD - noKD on test; ``status`` ``"ok"`` or ``"skipped"`` + ``reason``;
* ``headline``: the table a paper prints: per model the no-KD ``summary`` entry and the
  validation-chosen KD one, each with a ``role``; the teacher keeps its no-KD entry;
* ``record_metrics`` / ``window_metrics`` in a run: the other level of the same scores (per record:
  the record's window logits averaged; given whenever the scored split is record-labelled), shown
  in ``results.md`` as their own tables;
* ``meta``: study name, dataset, splits, seeds, and how often the teacher's forward pass ran.

``results.md`` shows the headline table, the paired KD-vs-no-KD section and the full summary table.

No-KD runs carry ``kd = False`` and ``temperature = alpha = None``. Undefined values are ``null``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ecgq.atomic import write_json_atomic
from ecgq.eval import kd_comparison, op_energy
from ecgq.eval.metrics import METRIC_NAMES, mean_ci95, summarize

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
            **seed_costs(members), **seed_nisq(members),
        })
    return summary


def seed_nisq(members: Sequence[Mapping[str, Any]]) -> dict:
    """``nisq``: per shot / noise condition the metrics' mean and 95% CI over seeds, with the number
    of test windows scored (where the runs carry a NISQ evaluation; :mod:`ecgq.distill.nisq_eval`)."""
    evaluated = [r.get("nisq") for r in members]
    if not evaluated or any(e is None for e in evaluated):
        return {}
    labels = list(evaluated[0]["conditions"])
    return {"nisq": {"n_windows": evaluated[0]["n_windows"], "of_windows": evaluated[0]["of_windows"],
                     "conditions": {label: summarize([e["conditions"][label] for e in evaluated])
                                    for label in labels}}}


def nisq_markdown(summary: Sequence[Mapping[str, Any]], metric: str = "balanced_accuracy") -> str:
    """The "quantum students under shots and noise" section (empty when no run was evaluated so)."""
    entries = [e for e in summary if e.get("nisq")]
    if not entries:
        return ""
    labels = list(dict.fromkeys(label for e in entries for label in e["nisq"]["conditions"]))
    rows = []
    for e in entries:
        row = {"model": e["model"], "setting": setting_label(e), "seeds": e["n_seeds"],
               "test windows": f"{e['nisq']['n_windows']} of {e['nisq']['of_windows']}"}
        row.update({label: _fmt((e["nisq"]["conditions"].get(label) or {}).get(metric)) for label in labels})
        rows.append(row)
    intro = (f"Test {metric} (mean ± 95% CI over seeds) of each trained quantum student with its circuit "
             "simulated exactly (`exact`), with every <Z> estimated from N shots (`shots=N`), or with a "
             "depolarising channel of probability p after every gate on each of its wires, exact expectations "
             "of the density matrix (`depolarizing=p`); the same evenly spaced test windows in every column. "
             "Weights are those trained noiselessly and selected on validation.")
    return ("## Quantum students under shots and noise\n\n" + intro + "\n\n"
            + pd.DataFrame(rows).to_markdown(index=False, disable_numparse=True) + "\n")


def seed_costs(members: Sequence[Mapping[str, Any]]) -> dict:
    """Mean and 95% CI over seeds of the operation-count energy estimate (mJ per sample) and of
    the spike rate, where the runs carry them (they depend on the trained weights of each seed)."""
    out = {}
    energies = [(r.get("energy_estimate") or {}).get("energy_mj") for r in members]
    if all(e is not None for e in energies) and energies:
        out["energy_estimate_mj"] = mean_ci95(energies)
    rates = [r.get("spike_rate") for r in members]
    if all(v is not None for v in rates) and rates:
        out["spike_rate"] = mean_ci95(rates)
    return out


LEVELS = (("record_metrics", "record", "Per-record metrics (each record's window logits averaged, then scored once)"),
          ("window_metrics", "window", "Per-window metrics"))


def other_levels(runs: Sequence[Mapping[str, Any]]) -> list[tuple[str, list[dict]]]:
    """``(title, summary)`` of each level that runs carry besides their headline ``metrics``: the
    per-record scores of window runs, the per-window scores of record runs."""
    out = []
    for key, level, title in LEVELS:
        scored = [dict(r, metrics=r[key]) for r in runs if r.get(key) and r.get("level", "window") != level]
        if scored:
            out.append((title, build_summary(scored)))
    return out


def _fmt(stat: Mapping[str, Any] | None, digits: int = 3, spec: str = "f") -> str:
    if not stat or stat.get("mean") is None:
        return "n/a"
    if stat.get("ci95") is None:
        return f"{stat['mean']:.{digits}{spec}}"
    return f"{stat['mean']:.{digits}{spec}} ± {stat['ci95']:.{digits}{spec}}"


def setting_label(entry: Mapping[str, Any]) -> str:
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
        row = {"model": e["model"], "setting": setting_label(e), "split": e["split"], "seeds": e["n_seeds"],
               "params": _params(e), "FLOPs/sample": f"{e['flops']:.3g}" if e.get("flops") else "n/a",
               "CPU ms/sample (bs)": _latency(e)}
        row.update({name: _fmt(e["metrics"].get(name)) for name in METRIC_NAMES})
        if any("energy_estimate_mj" in x for x in summary):
            row["energy est. mJ/sample"] = _fmt(e.get("energy_estimate_mj"), 2, "e")
        if any("spike_rate" in x for x in summary):
            row["spike rate"] = _fmt(e.get("spike_rate"), 3)
        rows.append(row)
    return pd.DataFrame(rows)


def markdown_table(summary: Sequence[Mapping[str, Any]]) -> str:
    """The summary as a Markdown table: mean ± 95% CI over seeds of every metric."""
    return summary_frame(summary).to_markdown(index=False)


def headline_table(headline: Sequence[Mapping[str, Any]]) -> str:
    """The headline entries as a Markdown table, with the role of each row first."""
    if not headline:
        return "No runs."
    frame = summary_frame(headline)
    frame.insert(1, "role", [e["role"] for e in headline])
    return frame.to_markdown(index=False)


def _num(value: float | None, fmt: str) -> str:
    return "n/a" if value is None else format(value, fmt)


def _kd_setting(entry: Mapping[str, Any]) -> str:
    s = entry.get("kd_setting")
    if s is None:
        return "n/a"
    seeds = f"{s['n_seeds']} seed" + ("s" if s["n_seeds"] != 1 else "")
    return f"T={s['temperature']:g} a={s['alpha']:g} (val {_num(s['val_mean'], '.3f')}, {seeds})"


def kd_comparison_frame(comparison: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per (model, metric) of the paired comparison; skipped models get one row with the reason."""
    rows = []
    for c in comparison:
        base = (c.get("baseline") or {}).get("kind", "none")
        head = {"model": c["model"], "KD setting (val-chosen)": _kd_setting(c),
                "baseline": {"no_kd": "no KD", "alpha0": "alpha=0"}.get(base, base)}
        if c["status"] != "ok":
            rows.append(dict(head, metric="-", **{"KD - noKD": "n/a", "95% CI": "n/a", "p (paired t)": "n/a",
                                                  "p (Wilcoxon)": "n/a", "n pairs": c["n_pairs"]}))
            continue
        for name, d in c["differences"].items():
            ci = d["ci95"]
            rows.append(dict(head, metric=name, **{
                "KD - noKD": _num(d["mean_diff"], "+.4f"),
                "95% CI": "n/a" if ci is None else f"[{ci[0]:+.4f}, {ci[1]:+.4f}]",
                "p (paired t)": _num(d["p_ttest"], ".3g"), "p (Wilcoxon)": _num(d["p_wilcoxon"], ".3g"),
                "n pairs": d["n_pairs"]}))
    return pd.DataFrame(rows)


def _kd_notes(comparison: Sequence[Mapping[str, Any]]) -> list[str]:
    """Why a model was skipped, which seeds could not be paired, and what could not be computed."""
    notes = []
    for c in comparison:
        if c.get("reason") and c["status"] != "ok":  # an "ok" entry's caveats are its metrics' notes below
            notes.append(f"{c['model']}: {c['reason']}")
        if c.get("baseline"):
            notes.append(f"{c['model']}: baseline = {c['baseline']['description']}; paired seeds {c['seeds']}")
        for side, seeds in (c.get("unpaired_seeds") or {}).items():
            if seeds:
                notes.append(f"{c['model']}: seeds {seeds} have no partner ({side} only) and are left out")
        by_note: dict[str, list[str]] = {}
        for name, d in c.get("differences", {}).items():
            for n in d["notes"]:
                by_note.setdefault(n, []).append(name)
        notes.extend(f"{c['model']} ({', '.join(names)}): {n}" for n, names in by_note.items())
    return list(dict.fromkeys(notes))


def kd_comparison_markdown(comparison: Sequence[Mapping[str, Any]], split: str = "test") -> str:
    """The "KD vs no KD (paired by seed)" section of ``results.md``."""
    metric = comparison[0]["selection"]["metric"] if comparison else kd_comparison.SELECTION_METRIC
    intro = (f"Per student the KD setting is chosen on validation {metric} "
             f"({kd_comparison.SELECTION_RULE.format(metric=metric)}); test is never used to choose it. "
             f"Differences are KD - noKD on the **{split}** split, per seed and then averaged over the "
             f"seeds run both ways; 95% CI of the mean difference from the t-distribution and p from "
             f"`scipy.stats.ttest_rel`; Wilcoxon signed-rank p from `scipy.stats.wilcoxon` "
             f"(from {kd_comparison.MIN_WILCOXON_PAIRS} pairs on).")
    lines = ["## KD vs no KD (paired by seed)", "", intro, ""]
    if not comparison:
        return "\n".join(lines + ["No model was trained with KD.", ""])
    lines.append(kd_comparison_frame(comparison).to_markdown(index=False, disable_numparse=True))  # keep "+"
    notes = _kd_notes(comparison)
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def kd_comparison_text(comparison: Sequence[Mapping[str, Any]], split: str = "test") -> str:
    """The paired differences as plain text, for the end of a study."""
    if not comparison:
        return "KD vs no KD: no model was trained with KD."
    metric = comparison[0]["selection"]["metric"]
    title = (f"KD - noKD on {split}, paired by seed (KD setting chosen on val {metric}; "
             f"95% t-CI, paired t-test / Wilcoxon p):")
    lines = [title, kd_comparison_frame(comparison).to_string(index=False)]
    lines += [f"  {n}" for n in _kd_notes(comparison) if "baseline =" not in n]
    return "\n".join(lines)


def runs_frame(runs: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per run; metric, parameter and latency columns flattened."""
    rows = []
    for r in runs:
        row = {k: r.get(k) for k in ("model", "kd", "temperature", "alpha", "seed", "split", "best_epoch")}
        row.update({name: r["metrics"].get(name) for name in METRIC_NAMES})
        row["params_classical"] = (r.get("params") or {}).get("classical")
        row["params_quantum"] = (r.get("params") or {}).get("quantum")
        row["flops"], row["energy_mj"] = r.get("flops"), r.get("energy_mj")
        estimate = r.get("energy_estimate") or {}
        row["energy_estimate_mj"], row["macs"], row["acs"] = (estimate.get("energy_mj"), estimate.get("macs"),
                                                              estimate.get("acs"))
        row["spike_rate"] = r.get("spike_rate")
        for label, scores in ((r.get("nisq") or {}).get("conditions") or {}).items():
            row[f"nisq_{label}_balanced_accuracy"] = scores.get("balanced_accuracy")
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
            name = f"{e['model']}/" + "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in setting_label(e))
            for metric, stat in e["metrics"].items():
                if stat["mean"] is not None:
                    writer.add_scalar(f"{e['split']}_{metric}/{name}", stat["mean"], 0)
    finally:
        writer.close()


def write_report(workdir: str, runs: Sequence[Mapping[str, Any]], meta: Mapping[str, Any],
                 histories: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
                 kd_selection_metric: str = kd_comparison.SELECTION_METRIC) -> dict[str, str]:
    """Write every report file into ``workdir``; return their paths by kind.

    ``kd_selection_metric`` is the validation metric that chooses each student's headline KD setting.
    """
    for run in runs:
        missing = [k for k in RUN_KEYS if k not in run]
        if missing:
            raise ValueError(f"run {run.get('model')} lacks keys {missing}")
    summary = build_summary(runs)
    comparison = kd_comparison.compare(runs, kd_selection_metric)
    paths = {
        "json": os.path.join(workdir, "results.json"),
        "csv": os.path.join(workdir, "results.csv"),
        "md": os.path.join(workdir, "results.md"),
        "tensorboard": os.path.join(workdir, "tensorboard"),
    }
    document = _clean({"meta": dict(meta), "runs": list(runs), "summary": summary, "kd_comparison": comparison,
                       "headline": kd_comparison.headline(summary, comparison)})
    write_json_atomic(paths["json"], document)
    write_csv(paths["csv"], runs)
    title = meta.get("study_name", "study")
    split = meta.get("test_split", "test")
    with open(paths["md"], "w") as handle:
        handle.write(f"# {title}: results\n\n")
        handle.write(f"Dataset `{meta.get('dataset')}`; metrics on the **{split}** split "
                     f"as mean ± 95% CI (t-distribution) over seeds; model selection on validation only.\n\n")
        handle.write(f"## Headline (KD setting chosen on validation {kd_selection_metric})\n\n")
        handle.write(headline_table(document["headline"]) + "\n\n")
        handle.write(kd_comparison_markdown(document["kd_comparison"], split) + "\n")
        inputs = meta.get("inputs") or {}
        if inputs:
            handle.write("## What each model saw\n\n")
            handle.write("\n".join(f"- `{name}`: {text}" for name, text in inputs.items()) + "\n\n")
        handle.write("## All settings\n\n")
        handle.write(markdown_table(document["summary"]) + "\n")
        for heading, level_summary in other_levels(runs):
            handle.write(f"\n## {heading}\n\n{markdown_table(level_summary)}\n")
        if any("energy_estimate_mj" in e for e in document["summary"]):
            handle.write("\n" + energy_method_note() + "\n")
        nisq = nisq_markdown(document["summary"])
        if nisq:
            handle.write("\n" + nisq)
        if meta.get("targets"):
            handle.write("\n" + targets_markdown(meta["targets"], document["headline"]) + "\n")
        notes = meta.get("notes") or []
        if notes:
            handle.write("\n" + "\n".join(f"- {n}" for n in notes) + "\n")
    write_tensorboard(paths["tensorboard"], document["summary"], histories or {})
    return paths


def energy_method_note() -> str:
    """How ``energy est.`` is computed, with its source (printed under every summary table)."""
    return ("`energy est.`: arithmetic energy per sample from operation counts, "
            f"{op_energy.E_MAC_PJ} pJ per multiply-accumulate and {op_energy.E_AC_PJ} pJ per accumulate "
            f"({op_energy.CITATION}); spiking models count one accumulate per synaptic event and MACs only "
            "where inputs are analog, other models count XLA's FLOPs / 2 as MACs; memory traffic and "
            "quantum circuits are not counted. `spike rate`: spikes per neuron and time step on up to 256 "
            "test windows. Measured energy (NVML/RAPL) is `energy_mj` in results.csv where a counter exists.")


TARGET_KEYS = {"total_params": "parameters", "latency_ms": "CPU latency ms/sample (batch 1)",
               "energy_mj": "energy mJ/sample (estimate; measured where a counter exists)",
               "accuracy": "accuracy (test; multi-label: mean over labels)"}


def _measured(entry: Mapping[str, Any], key: str):
    if key == "total_params":
        p = entry.get("params") or {}
        return p.get("classical", 0) + p.get("quantum", 0)
    if key == "latency_ms":
        return ((entry.get("latency_ms") or {}).get("cpu") or {}).get("1")
    if key == "energy_mj":
        measured = entry.get("energy_mj")
        estimate = (entry.get("energy_estimate_mj") or {}).get("mean")
        return estimate if measured is None else measured
    return (entry["metrics"].get(key) or {}).get("mean")


def targets_markdown(targets: Mapping[str, Any], headline: Sequence[Mapping[str, Any]]) -> str:
    """The claims a study tests (``targets``: ``{"source", "total_params", "latency_ms", "energy_mj",
    "accuracy"}``, each optional) beside what each headline model measured, and whether it met them
    (parameters, latency and energy: at most the target; accuracy: at least)."""
    keys = [k for k in TARGET_KEYS if targets.get(k)]  # 0 / None: no claim
    rows = [{"model": "**target**", "setting": str(targets.get("source", "")),
             **{TARGET_KEYS[k]: f"{'>=' if k == 'accuracy' else '<'} {targets[k]:,g}" for k in keys}}]
    for e in headline:
        row = {"model": e["model"], "setting": setting_label(e)}
        for k in keys:
            value = _measured(e, k)
            if value is None:
                row[TARGET_KEYS[k]] = "n/a"
                continue
            met = value >= targets[k] if k == "accuracy" else value < targets[k]
            shown = f"{value:,.0f}" if k == "total_params" else f"{value:.4g}"
            row[TARGET_KEYS[k]] = f"{shown} ({'met' if met else 'missed'})"
        rows.append(row)
    return ("## Targets of the seed work vs what ecgq measured\n\n"
            + pd.DataFrame(rows).to_markdown(index=False, disable_numparse=True) + "\n")


def print_summary(summary: Sequence[Mapping[str, Any]], paths: Mapping[str, str],
                  comparison: Sequence[Mapping[str, Any]] | None = None) -> str:
    """The compact table printed at the end of a study, the paired KD differences, the report paths."""
    cols = ("balanced_accuracy", "roc_auc", "f1_macro", "sensitivity", "specificity")
    lines = [f"{'model':<18}{'setting':<18}{'n':>3}  {'params':>14}  " + "  ".join(f"{c[:17]:>17}" for c in cols)]
    for e in summary:
        stats = "  ".join(f"{_fmt(e['metrics'][c]):>17}" for c in cols)
        lines.append(f"{e['model']:<18}{setting_label(e):<18}{e['n_seeds']:>3}  {_params(e):>14}  {stats}")
    if comparison is not None:
        lines.append("\n" + kd_comparison_text(comparison, summary[0]["split"] if summary else "test"))
    lines.append("Report: " + ", ".join(f"{k}={v}" for k, v in paths.items()))
    text = "\n".join(lines)
    print(text)
    return text
