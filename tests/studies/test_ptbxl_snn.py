"""The spiking + quantum study on real PTB-XL records: patient-disjoint folds, and a report that
carries spike rates, operation-count energy, the learned gate and entanglement, and the seed's targets."""

from __future__ import annotations

import json
import os

import numpy as np
from study_helpers import load_experiment, shrink

from ecgq import studies
from ecgq.studies.distill import load_study_splits


def _tiny(ptbxl_dir):
    base = load_experiment("ptbxl_snn.py:quick")
    config = shrink(load_experiment("ptbxl_snn.py:quick"), students=("snn_vqc", "snn_mlp"), n_seeds=1)
    config.data.data_dir = str(ptbxl_dir)
    config.teacher_data.sampling_rate = 100  # the teacher at 100 Hz keeps the CPU test short
    config.teacher.sampling_rate, config.teacher.input_length = 100.0, 1000
    config.distill.temperatures = ()  # no KD members: the report's columns are what is tested here
    config.eval.profile = False  # FLOPs / latency are tested elsewhere; each costs a compile per model
    config.subsample.update({"train": 96, "val": 48, "test": 48})
    for name in config.student_names:
        config.students[name].update({"features": (4, 6, 8), "kernel_sizes": (5, 3, 3), "n_qubits": 4,
                                      "n_layers": 1})
    return studies.prepare(base, config)


def test_presets_name_the_view_and_the_seed_targets():
    for preset, task in (("ptbxl_snn.py", "superdiagnostic"), ("ptbxl_snn.py:binary_quick", "binary")):
        c = load_experiment(preset)
        assert c.data.task == c.teacher_data.task == task
        assert c.data.sampling_rate == 100 and c.data.leads == "" and c.data.crop_length == 0
        assert tuple(c.student_names) == ("snn_vqc", "snn_mlp", "snn", "resnet1d", "cnn1d")
        assert all(c.students[n].train.optimizer == "adamw" and c.students[n].train.schedule == "cosine_restarts"
                   for n in c.student_names)
        assert c.targets.to_dict() == {"source": "Green-AI SNN + VQC seed (its own claims)", "total_params": 50000.0,
                                       "latency_ms": 10.0, "energy_mj": 0.5, "accuracy": 0.958}


def test_ptbxl_snn_study_reports_spikes_energy_gate_entanglement_and_targets(ptbxl_dir, tmp_path):
    config = _tiny(ptbxl_dir)
    splits, teacher_splits = load_study_splits(config, {"notes": []})
    for s in (splits, teacher_splits):  # no patient (and no record) in two splits
        patients = [set(np.asarray(getattr(s, name).patient)) for name in ("train", "val", "test")]
        assert not (patients[0] & patients[1] or patients[0] & patients[2] or patients[1] & patients[2])
    assert splits.train.x.shape[1:] == (1000, 12)

    studies.run(config, str(tmp_path))
    doc = json.load(open(tmp_path / "results.json"))
    runs = {m: [r for r in doc["runs"] if r["model"] == m] for m in ("snn_vqc", "snn_mlp", "ecgfounder_small")}
    assert all(len(runs[m]) == 1 for m in ("snn_vqc", "snn_mlp"))
    for r in runs["snn_vqc"] + runs["snn_mlp"]:
        assert 0 < r["spike_rate"] < 1 and r["energy_estimate"]["acs"] > 0
        assert len(r["inspection"]["spike_rates"]) == 3 and 0 < r["inspection"]["fusion_gate"][0] < 1
        assert r["inspection"]["precision"]["binary_params"] > 0
    assert all(np.asarray(r["inspection"]["entanglement"]).shape == (4, 4) for r in runs["snn_vqc"])
    assert all("entanglement" not in r["inspection"] for r in runs["snn_mlp"])  # the control has no circuit
    teacher = runs["ecgfounder_small"][0]
    assert teacher["spike_rate"] is None and "inspection" not in teacher
    assert os.path.exists(tmp_path / "entanglement_snn_vqc.png")
    md = open(tmp_path / "results.md").read()
    assert "## Targets of the seed work vs what ecgq measured" in md and "spike rate" in md
    assert "learned fusion gate a =" in md
