"""A tiny end-to-end distillation study on real MIT-BIH records, then a rerun that only re-reports."""

from __future__ import annotations

import json
import os
import sys

from ecgq.eval.metrics import METRIC_NAMES
from ecgq.eval.report import RUN_KEYS, SUMMARY_KEYS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _tiny_config(mitdb_dir):
    sys.path.insert(0, ROOT)
    import launch

    sys.path.pop(0)
    c = launch._load_config(os.path.join(ROOT, "experiments", "mitbih_binary.py") + ":quick")
    c.data.data_dir = str(mitdb_dir)
    c.subsample.train, c.subsample.val, c.subsample.test = 384, 192, 256
    c.teacher.train.epochs = 1
    c.teacher.train.batch_size = 64
    for name in c.student_names:
        t = c.students[name].train
        t.epochs, t.n_seeds, t.batch_size, t.progress = 1, 2, 64, False
    c.teacher.train.progress = False
    c.students.ae_vqc.pretrain.epochs = 1
    c.eval.latency_batch_sizes = (1, 8)
    c.eval.energy = False
    c.eval.plots = True
    return c


def test_tiny_mitbih_study_end_to_end_and_rerun(mitdb_dir, tmp_path, capsys):
    from ecgq import pipeline

    config = _tiny_config(mitdb_dir)
    out = pipeline.run(config, str(tmp_path))
    doc = json.load(open(tmp_path / "results.json"))
    models = {r["model"] for r in doc["runs"]}
    assert models == {"ecgfounder_small", "resnet1d", "cnn1d", "ae_vqc"}
    for run in doc["runs"]:
        assert set(RUN_KEYS) <= set(run) and run["split"] == "test"
        assert set(run["metrics"]) == set(METRIC_NAMES)
        assert run["params"]["classical"] > 0
    assert {r["params"]["quantum"] > 0 for r in doc["runs"] if r["model"] == "ae_vqc"} == {True}
    settings = {(e["model"], e["kd"]) for e in doc["summary"]}
    for student in ("resnet1d", "cnn1d", "ae_vqc"):
        assert (student, True) in settings and (student, False) in settings
    for entry in doc["summary"]:
        assert set(SUMMARY_KEYS) <= set(entry)
        assert entry["n_seeds"] == (1 if entry["model"].startswith("ecgfounder") else 2)
    # The teacher's forward pass ran once per split, then the cache served every student.
    assert doc["meta"]["teacher_forward_passes"] == {"train": 1, "val": 1, "test": 1}
    for name in ("results.csv", "results.md", "balanced_accuracy_vs_params.png", "training_curves.png"):
        assert (tmp_path / name).exists()
    assert "Report:" in capsys.readouterr().out

    # A finished study rerun only re-reports: same numbers, nothing recomputed.
    again = pipeline.run(config, str(tmp_path))
    assert again["summary"] == out["summary"]
    assert again["meta"]["teacher_forward_passes"] == {"train": 0, "val": 0, "test": 0}
