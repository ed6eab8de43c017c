"""The operation-count energy estimate, its place in the report, and the seed's targets beside it."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from ecgq.eval import op_energy, plots, report
from ecgq.eval.metrics import METRIC_NAMES


def test_horowitz_energies_per_operation():
    e = op_energy.energy_estimate(macs=1000, acs=500)
    assert e["energy_pj"] == pytest.approx(1000 * 4.6 + 500 * 0.9)
    assert e["energy_mj"] == pytest.approx(e["energy_pj"] * 1e-9)
    dense = op_energy.dense_operations(2e6)  # XLA counts a multiply-accumulate as two FLOPs
    assert dense["macs"] == 1e6 and dense["acs"] == 0 and dense["energy_pj"] == pytest.approx(4.6e6)
    assert op_energy.dense_operations(None) is None
    assert "Horowitz" in op_energy.CITATION and "ISSCC 2014" in op_energy.CITATION
    with pytest.raises(ValueError, match="must be >= 0"):
        op_energy.energy_estimate(-1)


def _runs():
    runs = []
    for model, spiking, params in (("snn_vqc", True, {"classical": 17563, "quantum": 132}),
                                   ("cnn1d", False, {"classical": 60000, "quantum": 0})):
        for seed in range(3):
            estimate = (op_energy.energy_estimate(7e5, 1.5e5 + 1e4 * seed, "event") if spiking
                        else op_energy.dense_operations(4e6))
            runs.append({"model": model, "kd": False, "temperature": None, "alpha": None, "seed": seed, "split": "test",
                         "metrics": {m: 0.9 + 0.01 * seed for m in METRIC_NAMES}, "params": params, "flops": 4e6,
                         "latency_ms": {"cpu": {"1": 2.0 if spiking else 20.0}}, "energy_mj": None,
                         "energy_estimate": estimate, "spike_rate": 0.05 + 0.01 * seed if spiking else None,
                         **({"inspection": {"entanglement": (np.eye(4)[::-1] * 0.5).tolist()}} if spiking else {})})
    return runs


def test_report_carries_estimates_spike_rates_and_the_targets(tmp_path):
    runs = _runs()
    targets = {"source": "seed paper", "total_params": 50000, "latency_ms": 10.0, "energy_mj": 0.5, "accuracy": 0.958}
    paths = report.write_report(str(tmp_path), runs, {"study_name": "t", "dataset": "ptbxl", "targets": targets})
    doc = json.load(open(paths["json"]))
    snn = next(e for e in doc["summary"] if e["model"] == "snn_vqc")
    cnn = next(e for e in doc["summary"] if e["model"] == "cnn1d")
    assert snn["spike_rate"]["mean"] == pytest.approx(0.06) and "spike_rate" not in cnn
    assert snn["energy_estimate_mj"]["mean"] == pytest.approx((7e5 * 4.6 + 1.6e5 * 0.9) * 1e-9)
    assert cnn["energy_estimate_mj"]["ci95"] == pytest.approx(0.0)
    md = open(paths["md"]).read()
    assert "energy est. mJ/sample" in md and "spike rate" in md and "Horowitz" in md
    section = md.split("## Targets of the seed work vs what ecgq measured")[1]
    snn_row = next(line for line in section.splitlines() if line.startswith("| snn_vqc"))
    cnn_row = next(line for line in section.splitlines() if line.startswith("| cnn1d"))
    assert "17,695 (met)" in snn_row and "| 2 (met)" in snn_row and "0.91 (missed)" in snn_row
    assert "60,000 (missed)" in cnn_row and "| 20 (missed)" in cnn_row
    assert "< 50,000" in section and ">= 0.958" in section and "seed paper" in section
    csv = open(paths["csv"]).read().splitlines()
    assert {"energy_estimate_mj", "macs", "acs", "spike_rate"} <= set(csv[0].split(","))
    drawn = plots.entanglement_maps(runs, str(tmp_path))
    assert list(drawn) == ["snn_vqc"] and os.path.getsize(drawn["snn_vqc"]) > 1000


def test_a_study_without_targets_or_spikes_writes_no_such_columns(tmp_path):
    runs = [r for r in _runs() if r["model"] == "cnn1d"]
    for r in runs:
        del r["energy_estimate"], r["spike_rate"]
    paths = report.write_report(str(tmp_path), runs, {"study_name": "t", "dataset": "x"})
    md = open(paths["md"]).read()
    assert "spike rate" not in md and "energy est." not in md
    assert "Targets of the seed work" not in md
    assert plots.entanglement_maps(runs, str(tmp_path)) == {}
