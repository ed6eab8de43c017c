"""KD vs no KD: the setting is chosen on validation, paired with no KD by seed, tested with scipy.

Pure result rows with known numbers; nothing is trained.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np
import pytest
from scipy import stats

from ecgq.eval import kd_comparison, plots, report
from ecgq.eval.metrics import METRIC_NAMES


def _row(model, seed, test, val=None, kd=False, t=None, a=None):
    """A run row whose every metric is ``test`` (and ``val`` on validation) unless given per metric."""
    def full(x):
        return x if isinstance(x, dict) else {m: float(x) for m in METRIC_NAMES}
    row = {"model": model, "kd": kd, "temperature": t if kd else None, "alpha": a if kd else None, "seed": seed,
           "split": "test", "metrics": full(test), "params": {"classical": 100, "quantum": 0}, "flops": 1e3,
           "latency_ms": {"cpu": {"1": 0.1}}, "energy_mj": None, "best_epoch": 1}
    if val is not None:
        row["val_metrics"] = full(val)
    return row


def _only(comparison, model):
    [entry] = [c for c in comparison if c["model"] == model]
    return entry


def test_the_setting_follows_validation_even_where_test_would_choose_another():
    runs = []
    for seed in range(3):
        runs.append(_row("s", seed, 0.70 + 0.01 * seed, 0.70))
        runs.append(_row("s", seed, 0.60 + 0.01 * seed, 0.80, kd=True, t=1.0, a=0.5))  # best on val, worse on test
        runs.append(_row("s", seed, 0.95, 0.75, kd=True, t=4.0, a=0.5))  # best on test: must not be chosen
    c = _only(kd_comparison.compare(runs), "s")
    assert (c["kd_setting"]["temperature"], c["kd_setting"]["alpha"]) == (1.0, 0.5)
    assert c["kd_setting"]["val_mean"] == pytest.approx(0.80)
    assert c["selection"]["split"] == "val" and c["selection"]["metric"] == "balanced_accuracy"
    assert [x["temperature"] for x in c["selection"]["candidates"]] == [1.0, 4.0]
    assert c["baseline"]["kind"] == "no_kd"
    assert c["differences"]["balanced_accuracy"]["mean_diff"] == pytest.approx(-0.10)


def test_ties_on_validation_go_to_the_smaller_alpha_then_the_smaller_temperature():
    runs = [_row("s", 0, 0.5, 0.5)]
    for t, a in ((4.0, 1.0), (4.0, 0.5), (2.0, 0.5), (1.0, 1.0)):
        runs.append(_row("s", 0, 0.9, 0.7, kd=True, t=t, a=a))
    c = _only(kd_comparison.compare(runs), "s")
    assert (c["kd_setting"]["temperature"], c["kd_setting"]["alpha"]) == (2.0, 0.5)


def test_difference_ci_and_p_values_match_scipy_on_hand_built_arrays():
    kd = np.array([0.81, 0.78, 0.84, 0.80, 0.86, 0.79])
    base = np.array([0.78, 0.77, 0.80, 0.81, 0.82, 0.75])
    d = kd_comparison.paired_difference(kd.tolist(), base.tolist())
    diff = kd - base
    half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / math.sqrt(len(diff))
    assert d["n_pairs"] == 6
    assert d["mean_diff"] == pytest.approx(diff.mean())
    assert d["ci95"] == pytest.approx([diff.mean() - half, diff.mean() + half])
    assert d["p_ttest"] == pytest.approx(stats.ttest_rel(kd, base).pvalue)
    assert d["t"] == pytest.approx(stats.ttest_rel(kd, base).statistic) and d["df"] == 5
    assert d["p_wilcoxon"] == pytest.approx(stats.wilcoxon(kd, base).pvalue)
    assert d["kd_mean"] == pytest.approx(kd.mean()) and d["no_kd_mean"] == pytest.approx(base.mean())
    few = kd_comparison.paired_difference(kd[:3].tolist(), base[:3].tolist())
    assert few["p_ttest"] is not None and few["p_wilcoxon"] is None
    assert any("Wilcoxon needs" in n for n in few["notes"])


def test_runs_are_paired_by_seed_not_by_order():
    kd_test = {0: 0.90, 1: 0.70, 2: 0.85}
    base_test = {0: 0.80, 1: 0.72, 2: 0.80, 3: 0.10}
    runs = [_row("s", s, base_test[s], 0.6) for s in (3, 1, 0, 2)]
    runs += [_row("s", s, kd_test[s], 0.7, kd=True, t=2.0, a=0.5) for s in (2, 0, 1)]
    c = _only(kd_comparison.compare(runs), "s")
    assert c["seeds"] == [0, 1, 2] and c["n_pairs"] == 3
    assert c["unpaired_seeds"] == {"kd": [], "no_kd": [3]}
    expected = [kd_test[s] - base_test[s] for s in (0, 1, 2)]
    got = c["differences"]["roc_auc"]
    assert got["mean_diff"] == pytest.approx(np.mean(expected))
    assert got["p_ttest"] == pytest.approx(stats.ttest_rel([kd_test[s] for s in (0, 1, 2)],
                                                           [base_test[s] for s in (0, 1, 2)]).pvalue)


def test_a_grid_without_a_no_kd_run_uses_its_alpha_zero_members():
    runs = []
    for seed in range(2):
        for t in (4.0, 1.0):
            runs.append(_row("s", seed, 0.70 + 0.05 * seed, 0.6, kd=True, t=t, a=0.0))
            runs.append(_row("s", seed, 0.80 + (0.01 if t == 4.0 else 0.0) + 0.03 * seed,
                             0.7 if t == 4.0 else 0.65, kd=True, t=t, a=0.5))
    c = _only(kd_comparison.compare(runs), "s")
    assert c["baseline"]["kind"] == "alpha0" and c["baseline"]["temperature"] == 1.0
    assert all(x["alpha"] > 0 for x in c["selection"]["candidates"])
    assert (c["kd_setting"]["temperature"], c["kd_setting"]["alpha"]) == (4.0, 0.5)
    assert c["differences"]["f1_macro"]["mean_diff"] == pytest.approx(0.10)


def test_one_seed_missing_baseline_missing_validation_and_zero_spread_give_none_with_a_reason():
    one = kd_comparison.compare([_row("s", 0, 0.7, 0.6), _row("s", 0, 0.8, 0.7, kd=True, t=1.0, a=0.5)])[0]
    d = one["differences"]["balanced_accuracy"]
    assert d["mean_diff"] == pytest.approx(0.1) and d["ci95"] is None and d["p_ttest"] is None
    assert d["p_wilcoxon"] is None and "1 pair" in d["notes"][0] and one["reason"]

    no_base = kd_comparison.compare([_row("s", s, 0.8, 0.7, kd=True, t=1.0, a=0.5) for s in range(3)])[0]
    assert no_base["status"] == "skipped" and "no baseline" in no_base["reason"]
    assert no_base["kd_setting"]["alpha"] == 0.5 and no_base["differences"] == {}

    no_val = kd_comparison.compare([_row("s", s, 0.8) for s in range(2)]
                                   + [_row("s", s, 0.9, kd=True, t=1.0, a=0.5) for s in range(2)])[0]
    assert no_val["status"] == "skipped" and "validation" in no_val["reason"] and no_val["kd_setting"] is None

    flat = kd_comparison.paired_difference([0.8, 0.9, 0.7], [0.7, 0.8, 0.6])
    assert flat["mean_diff"] == pytest.approx(0.1) and flat["ci95"] is None and flat["p_ttest"] is None
    assert any("zero spread" in n for n in flat["notes"])

    nan = kd_comparison.paired_difference([float("nan"), 0.8, None], [0.7, 0.6, 0.5])
    assert nan["n_pairs"] == 1
    assert kd_comparison.paired_difference([float("nan")], [0.5])["mean_diff"] is None


def test_teacher_has_no_entry_and_duplicate_seeds_are_refused():
    runs = [_row("teacher", 0, 0.9, 0.9), _row("s", 0, 0.7, 0.6), _row("s", 0, 0.8, 0.7, kd=True, t=1.0, a=0.5)]
    assert [c["model"] for c in kd_comparison.compare(runs)] == ["s"]
    with pytest.raises(ValueError, match="seed 0 appears twice"):
        kd_comparison.compare(runs + [_row("s", 0, 0.7, 0.6)])


def _study_runs():
    rng = np.random.default_rng(1)
    runs = [_row("teacher", s, 0.9, 0.9) for s in range(3)]
    for seed in range(3):
        runs.append(_row("cnn1d", seed, float(rng.uniform(0.6, 0.7)), 0.70))
        runs.append(_row("cnn1d", seed, float(rng.uniform(0.7, 0.8)), 0.75, kd=True, t=2.0, a=0.5))
        runs.append(_row("cnn1d", seed, float(rng.uniform(0.8, 0.9)), 0.72, kd=True, t=4.0, a=1.0))
    runs.append(_row("ae_vqc", 0, 0.6, 0.6))
    runs.append(_row("ae_vqc", 0, 0.65, 0.62, kd=True, t=2.0, a=0.5))
    return runs


def test_report_files_carry_the_paired_section_and_the_headline(tmp_path, capsys):
    runs = _study_runs()
    paths = report.write_report(str(tmp_path), runs, {"study_name": "t", "dataset": "synthetic"})
    with open(paths["json"]) as handle:
        doc = json.load(handle)
    cnn = _only(doc["kd_comparison"], "cnn1d")
    assert cnn["status"] == "ok" and cnn["kd_setting"]["temperature"] == 2.0 and cnn["n_pairs"] == 3
    assert set(cnn["differences"]) >= {"balanced_accuracy", "roc_auc", "f1_macro"}
    assert [(e["model"], e["role"], e["temperature"]) for e in doc["headline"]] == [
        ("teacher", "no KD", None), ("cnn1d", "no KD", None),
        ("cnn1d", "KD (chosen on val balanced_accuracy)", 2.0),
        ("ae_vqc", "no KD", None), ("ae_vqc", "KD (chosen on val balanced_accuracy)", 2.0)]
    with open(paths["md"]) as handle:
        md = handle.read()
    assert "## KD vs no KD (paired by seed)" in md and "chosen on validation balanced_accuracy" in md
    assert "## Headline" in md and "## All settings" in md and "p (paired t)" in md
    assert "ae_vqc (balanced_accuracy, roc_auc, f1_macro): 1 pair" in md and "| +0.0500 " in md
    text = report.print_summary(report.build_summary(runs), paths, doc["kd_comparison"])
    assert "KD - noKD on test, paired by seed" in text and "T=2 a=0.5" in text
    assert text.splitlines()[-1].startswith("Report:")
    plot = plots.kd_paired_differences(doc["kd_comparison"], str(tmp_path / "kd.png"))
    assert plot and os.path.getsize(plot) > 0
    assert plots.kd_paired_differences([], str(tmp_path / "none.png")) is None
