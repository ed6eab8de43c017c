"""Does KD help? Each student's KD setting chosen on validation, then paired with no KD by seed on test.

A grid of (temperature, alpha) settings invites picking the best one on test, which inflates any
KD gain. Here the setting is chosen from ``val_metrics`` alone (mean over seeds of the selection
metric); only then are the test ``metrics`` of that setting compared with the no-KD baseline.

Runs of the same seed share their initial weights and data order whatever the KD setting
(:mod:`ecgq.train.multiseed`), so the comparison is *paired by seed*: per seed the difference
KD - noKD, then the mean difference, its 95% t-interval and the p-value of ``scipy.stats.ttest_rel``
(and of the Wilcoxon signed-rank test from 6 pairs on: below that even a perfect sign pattern
cannot reach p < 0.05 two-sided). Seeds present on only one side are left out and listed.

The baseline is the no-KD run (``kd = False``); in a grid without one (``include_no_kd = False``)
it is the ``alpha = 0`` members, which train on cross-entropy alone (at the smallest temperature
present; the temperature has no effect at alpha = 0). Every entry says which baseline it used.
Undefined quantities (one pair, zero spread, a metric undefined on a seed) are ``None`` with a note.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

COMPARED_METRICS = ("balanced_accuracy", "roc_auc", "f1_macro")
SELECTION_METRIC = "balanced_accuracy"
MIN_WILCOXON_PAIRS = 6  # two-sided exact signed-rank p is >= 0.0625 for n <= 5
SELECTION_RULE = "highest mean over seeds of val {metric}; ties -> smaller alpha, then smaller T"


def _finite(value: Any) -> bool:
    return value is not None and isinstance(value, (int, float, np.floating, np.integer)) and math.isfinite(value)


def _by_seed(runs: Sequence[Mapping[str, Any]], what: str) -> dict[int, Mapping[str, Any]]:
    """``{seed: run}``; two runs of one seed in one setting would make the pairing ambiguous."""
    out: dict[int, Mapping[str, Any]] = {}
    for run in runs:
        if run["seed"] in out:
            raise ValueError(f"{what}: seed {run['seed']} appears twice")
        out[run["seed"]] = run
    return out


def baseline_runs(runs: Sequence[Mapping[str, Any]]) -> tuple[list[Mapping[str, Any]], dict[str, Any] | None]:
    """The no-KD runs of one model and a description of them (``None`` when there are none).

    ``kd = False`` runs when present; otherwise the ``alpha = 0`` KD members at their smallest
    temperature (pure cross-entropy: a no-KD run inside the grid).
    """
    plain = [r for r in runs if not r["kd"]]
    if plain:
        return plain, {"kind": "no_kd", "temperature": None, "alpha": None, "description": "no-KD run (kd=False)"}
    zero = [r for r in runs if r["kd"] and r["alpha"] == 0]
    if not zero:
        return [], None
    t = min(r["temperature"] for r in zero)
    return [r for r in zero if r["temperature"] == t], {
        "kind": "alpha0", "temperature": t, "alpha": 0.0,
        "description": f"alpha=0 grid members (T={t:g}; pure cross-entropy, no separate no-KD run)"}


def candidate_settings(runs: Sequence[Mapping[str, Any]], metric: str) -> list[dict[str, Any]]:
    """Every KD setting (alpha > 0) of one model with its validation mean over seeds, best first.

    ``val_mean`` is ``None`` when no seed has a finite validation value; such settings sort last
    and are never chosen. Test metrics are not read.
    """
    groups: dict[tuple[float, float], list[Mapping[str, Any]]] = {}
    for run in runs:
        if run["kd"] and run["alpha"] != 0:
            groups.setdefault((run["temperature"], run["alpha"]), []).append(run)
    out = []
    for (t, a), members in groups.items():
        values = [(m.get("val_metrics") or {}).get(metric) for m in members]
        finite = [float(v) for v in values if _finite(v)]
        out.append({"temperature": t, "alpha": a, "n_seeds": len(members), "n_val_values": len(finite),
                    "val_mean": float(np.mean(finite)) if finite else None})
    return sorted(out, key=lambda c: (c["val_mean"] is None, -(c["val_mean"] or 0.0), c["alpha"], c["temperature"]))


def paired_difference(kd: Sequence[float], no_kd: Sequence[float]) -> dict[str, Any]:
    """Mean of ``kd - no_kd`` over pairs, its 95% t-interval, paired t and Wilcoxon p-values.

    Pairs where either value is missing or non-finite are dropped (``n_pairs`` counts the rest).
    """
    pairs = [(float(a), float(b)) for a, b in zip(kd, no_kd) if _finite(a) and _finite(b)]
    n = len(pairs)
    out: dict[str, Any] = {"n_pairs": n, "mean_diff": None, "ci95": None, "t": None, "df": None,
                           "p_ttest": None, "p_wilcoxon": None, "kd_mean": None, "no_kd_mean": None, "notes": []}
    if n == 0:
        out["notes"].append("no seed with the metric defined on both sides")
        return out
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    d = a - b
    out.update(mean_diff=float(d.mean()), kd_mean=float(a.mean()), no_kd_mean=float(b.mean()))
    if n < 2:
        out["notes"].append("1 pair: no spread, so no CI or test")
        return out
    if np.ptp(d) <= 1e-12 * max(1.0, float(np.abs(d).max())):
        out["notes"].append("identical differences on every seed: zero spread, so no CI or t-test")
    else:
        res = stats.ttest_rel(a, b)
        ci = res.confidence_interval(0.95)
        out.update(t=float(res.statistic), df=int(res.df), p_ttest=float(res.pvalue),
                   ci95=[float(ci.low), float(ci.high)])
    if n < MIN_WILCOXON_PAIRS:
        out["notes"].append(f"Wilcoxon needs >= {MIN_WILCOXON_PAIRS} pairs (n={n} cannot reach p<0.05)")
    elif not np.any(d != 0):
        out["notes"].append("Wilcoxon undefined: every difference is zero")
    else:
        out["p_wilcoxon"] = float(stats.wilcoxon(a, b).pvalue)
    return out


def compare_model(model: str, runs: Sequence[Mapping[str, Any]], selection_metric: str = SELECTION_METRIC,
                  metrics: Sequence[str] = COMPARED_METRICS) -> dict[str, Any]:
    """The KD-vs-no-KD entry of one model (its runs only); ``status`` is ``"ok"`` or ``"skipped"``."""
    splits = sorted({r["split"] for r in runs})
    if len(splits) > 1:
        raise ValueError(f"{model}: runs from several splits {splits}; compare one split at a time")
    base, baseline = baseline_runs(runs)
    candidates = candidate_settings(runs, selection_metric)
    entry: dict[str, Any] = {
        "model": model, "status": "skipped", "reason": None, "split": splits[0] if splits else None,
        "selection": {"metric": selection_metric, "split": "val",
                      "rule": SELECTION_RULE.format(metric=selection_metric), "candidates": candidates},
        "kd_setting": None, "baseline": baseline, "seeds": [], "n_pairs": 0,
        "unpaired_seeds": {"kd": [], "no_kd": []}, "differences": {},
    }
    chosen = candidates[0] if candidates and candidates[0]["val_mean"] is not None else None
    if baseline is None:
        entry["reason"] = "no baseline: neither a kd=False run nor alpha=0 grid members"
    elif not candidates:
        entry["reason"] = "no KD setting with alpha > 0"
    elif chosen is None:
        entry["reason"] = f"no validation {selection_metric} (val_metrics) to choose the KD setting on"
    if chosen is not None:
        entry["kd_setting"] = chosen
    if entry["reason"]:
        return entry
    kd_runs = _by_seed([r for r in runs if r["kd"] and r["temperature"] == chosen["temperature"]
                        and r["alpha"] == chosen["alpha"]], f"{model} KD")
    base_runs = _by_seed(base, f"{model} baseline")
    seeds = sorted(set(kd_runs) & set(base_runs))
    entry.update(seeds=seeds, n_pairs=len(seeds),
                 unpaired_seeds={"kd": sorted(set(kd_runs) - set(base_runs)),
                                 "no_kd": sorted(set(base_runs) - set(kd_runs))})
    if not seeds:
        entry["reason"] = "no seed run both with the chosen KD setting and without KD"
        return entry
    entry["status"] = "ok"
    for name in metrics:
        entry["differences"][name] = paired_difference([kd_runs[s]["metrics"].get(name) for s in seeds],
                                                       [base_runs[s]["metrics"].get(name) for s in seeds])
    if len(seeds) < 2:
        entry["reason"] = "1 paired seed: differences have no CI or p-value"
    return entry


def compare(runs: Sequence[Mapping[str, Any]], selection_metric: str = SELECTION_METRIC,
            metrics: Sequence[str] = COMPARED_METRICS) -> list[dict[str, Any]]:
    """One entry per model that has KD runs (first-seen order); models without KD (the teacher) have none."""
    by_model: dict[str, list[Mapping[str, Any]]] = {}
    for run in runs:
        by_model.setdefault(run["model"], []).append(run)
    return [compare_model(model, members, selection_metric, metrics)
            for model, members in by_model.items() if any(r["kd"] for r in members)]


def _matches(entry: Mapping[str, Any], kd: bool, temperature: Any, alpha: Any) -> bool:
    return bool(entry["kd"]) == kd and entry["temperature"] == temperature and entry["alpha"] == alpha


def headline(summary: Sequence[Mapping[str, Any]], comparison: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The table a paper prints: per model its no-KD entry and its validation-chosen KD entry.

    Entries are copies of ``summary`` entries (test metrics, mean ± 95% CI over all their seeds)
    with a ``role``. Models that were not distilled (the teacher) keep their no-KD entries.
    """
    chosen = {c["model"]: c for c in comparison}
    out = []
    for model in dict.fromkeys(e["model"] for e in summary):
        entries = [e for e in summary if e["model"] == model]
        c = chosen.get(model)
        if c is None:
            out.extend(dict(e, role="no KD") for e in entries if not e["kd"])
            continue
        b = c["baseline"]
        if b is not None:
            kd = b["kind"] == "alpha0"
            role = "no KD (alpha=0 grid member)" if kd else "no KD"
            out.extend(dict(e, role=role) for e in entries if _matches(e, kd, b["temperature"], b["alpha"]))
        s = c["kd_setting"]
        if s is not None:
            role = f"KD (chosen on val {c['selection']['metric']})"
            out.extend(dict(e, role=role) for e in entries if _matches(e, True, s["temperature"], s["alpha"]))
    return out
