"""NISQ evaluation of a trained quantum student: exact, finite-shot and depolarised scores."""

from __future__ import annotations

import ml_collections
import numpy as np
import pytest

from ecgq import models
from ecgq.distill import nisq_eval
from ecgq.eval import report
from ecgq.eval.config import eval_config
from ecgq.quantum.config import quantum_config


def test_conditions_and_window_choice():
    cfg = eval_config()
    assert [label for label, _ in nisq_eval.conditions(cfg)] == [
        "shots=100", "shots=1000", "shots=10000", "depolarizing=0.001", "depolarizing=0.01"]
    cfg.nisq_shots, cfg.nisq_depolarizing = (), ()
    assert nisq_eval.conditions(cfg) == []
    assert list(nisq_eval.evenly_spaced(10, 4)) == [0, 3, 6, 9] and len(nisq_eval.evenly_spaced(10, 0)) == 10


def test_probe_scores_the_member_exactly_with_shots_and_fully_depolarised():
    module, variables = models.create("nisq_vqc", input_shape=(64, 1), n_outputs=2, n_qubits=2, n_layers=1)
    cfg = models.model_config("nisq_vqc")
    cfg.update({"n_qubits": 2, "n_layers": 1, "n_leads": 1})
    rng = np.random.default_rng(0)
    split = {"x": rng.normal(size=(40, 64, 1)).astype(np.float32), "y": rng.integers(0, 2, 40).astype(np.int32)}
    eval_cfg = ml_collections.ConfigDict({"nisq_shots": (50,), "nisq_depolarizing": (1.0,), "nisq_max_windows": 30,
                                          "nisq_batch_size": 16})
    probe = nisq_eval.nisq_probe("nisq_vqc", cfg, quantum_config(), n_outputs=2, head="softmax", multilabel=False,
                                 split=split, eval_cfg=eval_cfg, seed=0)
    out = probe(variables)["nisq"]
    assert out["n_windows"] == 30 and out["of_windows"] == 40
    assert set(out["conditions"]) == {"exact", "shots=50", "depolarizing=1"}
    # The exact column is the member's own noiseless score on those windows.
    take = nisq_eval.evenly_spaced(40, 30)
    pred = np.asarray(module.apply(variables, split["x"][take])).argmax(-1)
    assert out["conditions"]["exact"]["accuracy"] == pytest.approx(np.mean(pred == split["y"][take]))
    # Fully depolarised after every gate, every <Z> is 0: one prediction for every window, i.e.
    # balanced accuracy exactly 1/2.
    assert out["conditions"]["depolarizing=1"]["balanced_accuracy"] == pytest.approx(0.5)
    # Classical students have nothing to evaluate, controls that only size themselves from the
    # quantum config included.
    for classical in ("cnn1d", "ae_mlp", "nisq_mlp"):
        assert nisq_eval.nisq_probe(classical, models.model_config(classical), quantum_config(), n_outputs=2,
                                    head="softmax", multilabel=False, split=split, eval_cfg=eval_cfg, seed=0) is None


def test_report_section_lists_every_condition_with_its_window_count():
    cond = {"exact": {"balanced_accuracy": 0.8}, "shots=100": {"balanced_accuracy": 0.7}}
    runs = [{"model": "nisq_vqc", "kd": False, "temperature": None, "alpha": None, "seed": s, "split": "test",
             "metrics": {"balanced_accuracy": 0.8}, "params": {}, "flops": None, "latency_ms": {}, "energy_mj": None,
             "nisq": {"n_windows": 30, "of_windows": 40,
                      "conditions": {k: {m: v + 0.01 * s for m, v in d.items()} for k, d in cond.items()}}}
            for s in range(3)]
    for r in runs:  # the summary needs every metric name
        for k in r["nisq"]["conditions"].values():
            k.update({m: 0.5 for m in ("accuracy", "f1_macro", "roc_auc", "sensitivity", "specificity")})
        r["metrics"].update({m: 0.5 for m in ("accuracy", "f1_macro", "roc_auc", "sensitivity", "specificity")})
    summary = report.build_summary(runs)
    assert summary[0]["nisq"]["conditions"]["shots=100"]["balanced_accuracy"]["mean"] == pytest.approx(0.71)
    md = report.nisq_markdown(summary)
    assert "| nisq_vqc" in md and "30 of 40" in md and "0.710 ±" in md and "shots=100" in md
    assert report.nisq_markdown(report.build_summary([dict(runs[0], nisq=None)])) == ""
