"""results.json schema, CSV/Markdown/TensorBoard outputs and plots."""

from __future__ import annotations

import json
import os

import numpy as np

from ecgq.eval import plots, report
from ecgq.eval.metrics import METRIC_NAMES


def _runs():
    rng = np.random.default_rng(0)
    runs = []
    for model, params in (("ecgfounder_small", {"classical": 5000, "quantum": 0}), ("ae_vqc", {"classical": 300, "quantum": 36})):
        settings = [(False, None, None)] + ([(True, t, a) for t in (1.0, 4.0) for a in (0.5, 1.0)] if model == "ae_vqc" else [])
        for kd, t, a in settings:
            for seed in range(3):
                metrics = {m: float(rng.uniform(0.5, 1)) for m in METRIC_NAMES}
                metrics["roc_auc"] = float("nan") if seed == 0 else metrics["roc_auc"]
                runs.append({"model": model, "kd": kd, "temperature": t, "alpha": a, "seed": seed, "split": "test",
                             "metrics": metrics, "params": params, "flops": 1e4, "best_epoch": 2,
                             "latency_ms": {"cpu": {"1": 0.5, "256": 0.01}}, "energy_mj": None})
    return runs


def test_results_json_schema_and_files(tmp_path):
    runs = _runs()
    histories = {"ae_vqc/no_kd": [{"seed": 0, "train_loss": [1.0, 0.5], "val_metric": [0.6, 0.7]}]}
    paths = report.write_report(str(tmp_path), runs, {"study_name": "t", "dataset": "synthetic"}, histories)
    doc = json.load(open(paths["json"]))
    assert set(doc) >= {"runs", "summary", "meta"}
    assert len(doc["runs"]) == len(runs)
    for run in doc["runs"]:
        assert set(report.RUN_KEYS) <= set(run)
        assert set(run["metrics"]) == set(METRIC_NAMES)
    assert len(doc["summary"]) == 1 + 5
    for entry in doc["summary"]:
        assert set(report.SUMMARY_KEYS) <= set(entry)
        assert entry["n_seeds"] == 3
        for name in METRIC_NAMES:
            assert set(entry["metrics"][name]) == {"mean", "ci95"}
    auc = [e for e in doc["summary"] if e["model"] == "ae_vqc"][0]["metrics"]["roc_auc"]
    assert auc["mean"] is not None  # nan seeds are left out, not propagated
    assert any(e["model"].startswith("ecgfounder") for e in doc["summary"])
    assert open(paths["csv"]).readline().startswith("model,kd,temperature,alpha,seed")
    assert "balanced_accuracy" in open(paths["md"]).read()
    assert any(f.startswith("events") for f in os.listdir(paths["tensorboard"]))
    text = report.print_summary(doc["summary"], paths)
    assert "ae_vqc" in text and "±" in text

    summary = doc["summary"]
    assert os.path.getsize(plots.accuracy_vs_params(summary, str(tmp_path / "acc.png"))) > 0
    heatmaps = plots.kd_heatmaps(summary, str(tmp_path))
    assert [os.path.basename(p) for p in heatmaps] == ["kd_heatmap_ae_vqc.png"]
    assert os.path.getsize(plots.training_curves(histories, str(tmp_path / "curves.png"))) > 0
