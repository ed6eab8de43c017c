"""The distillation study end to end: real MIT-BIH, resumption, the workdir guard, config completion."""

from __future__ import annotations

import json

import ml_collections
import numpy as np
import pytest
from study_helpers import load_experiment, shrink

from ecgq import studies
from ecgq.distill import student_stage
from ecgq.errors import UserError
from ecgq.eval.metrics import METRIC_NAMES
from ecgq.eval.report import RUN_KEYS, SUMMARY_KEYS
from ecgq.studies import distill_config


STUDENTS = ("cnn1d", "ae_vqc", "ae_mlp", "nisq_vqc", "nisq_mlp")


def _mitbih(mitdb_dir):
    c = shrink(load_experiment("mitbih_binary.py:quick"), students=STUDENTS)
    c.data.data_dir = str(mitdb_dir)
    c.subsample.train, c.subsample.val, c.subsample.test = 384, 192, 256
    c.eval.plots = True
    c.eval.latency_batch_sizes = (1,)
    assert c.use_rr  # the RR-context path end to end (teacher and every student), by default
    return c


def test_tiny_mitbih_study_end_to_end_and_rerun(mitdb_dir, tmp_path, capsys):
    config = studies.prepare(None, _mitbih(mitdb_dir))
    out = studies.run(config, str(tmp_path))
    doc = json.load(open(tmp_path / "results.json"))
    assert {r["model"] for r in doc["runs"]} == {"ecgfounder_small", *STUDENTS}
    for run in doc["runs"]:
        assert set(RUN_KEYS) <= set(run) and run["split"] == "test"
        assert set(run["metrics"]) == set(METRIC_NAMES)
        assert run["params"]["classical"] > 0
    assert {r["params"]["quantum"] > 0 for r in doc["runs"] if r["model"] in ("ae_vqc", "nisq_vqc")} == {True}
    assert {r["params"]["quantum"] for r in doc["runs"] if r["model"] in ("ae_mlp", "nisq_mlp")} == {0}
    settings = {(e["model"], e["kd"]) for e in doc["summary"]}
    for student in STUDENTS:
        assert (student, True) in settings and (student, False) in settings
    for entry in doc["summary"]:
        assert set(SUMMARY_KEYS) <= set(entry)
        assert entry["n_seeds"] == (1 if entry["model"].startswith("ecgfounder") else 2)
    # The teacher's forward pass ran once per split, then the cache served every student.
    assert doc["meta"]["teacher_forward_passes"] == {"train": 1, "val": 1, "test": 1}
    # Sized from the data: the teacher reads MIT-BIH's MLII as lead II, ae_vqc the 256-sample beats.
    saved = json.load(open(tmp_path / "config.json"))
    assert saved["teacher"]["lead_order"] == "II" and saved["teacher"]["n_leads"] == 1
    assert saved["students"]["ae_vqc"]["window_length"] == 256
    # What each model saw: the teacher a 2.5 s multi-beat context of the students' beats, one to one.
    inputs = doc["meta"]["inputs"]
    assert "3 RR features (pre_rr_norm, post_rr_norm, local_rr_norm)" in inputs["cnn1d"] and "256-sample windows = 0.71 s at 360 Hz" in inputs["cnn1d"]
    assert "448-sample windows = 2.49 s at 180 Hz" in inputs["ecgfounder_small"]
    assert any("of the students' beats, one to one" in n for n in doc["meta"]["notes"])
    assert "## What each model saw" in (tmp_path / "results.md").read_text()
    assert [e["model"] for e in doc["kd_comparison"]] == list(STUDENTS)  # KD vs no KD, paired, per student
    for name in ("results.csv", "results.md", "balanced_accuracy_vs_params.png", "training_curves.png"):
        assert (tmp_path / name).exists()
    assert "Report:" in capsys.readouterr().out

    # A finished study rerun only re-reports: same numbers, nothing recomputed.
    again = studies.run(config, str(tmp_path))
    assert again["summary"] == out["summary"]
    assert again["meta"]["teacher_forward_passes"] == {"train": 0, "val": 0, "test": 0}


def test_resume_after_the_teacher_finished_and_a_student_did_not(tiny_synthetic, tmp_path, monkeypatch):
    tiny_synthetic.eval.profile = False
    config = studies.prepare(None, tiny_synthetic)
    real_stage = student_stage.run_student_stage

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt("killed during the student stage")

    import ecgq.distill.student_stage as module

    monkeypatch.setattr(module, "run_student_stage", interrupted)
    with pytest.raises(KeyboardInterrupt):
        studies.run(config, str(tmp_path))
    assert (tmp_path / "stages" / "ecgfounder_small.json").exists()
    assert not (tmp_path / "stages" / "cnn1d.json").exists()
    teacher_stage = json.load(open(tmp_path / "stages" / "ecgfounder_small.json"))

    monkeypatch.setattr(module, "run_student_stage", real_stage)
    out = studies.run(config, str(tmp_path))
    # The teacher is neither retrained nor re-run: its finished checkpoint and cached logits serve.
    assert out["meta"]["teacher_forward_passes"] == {"train": 0, "val": 0, "test": 0}
    runs = json.load(open(tmp_path / "results.json"))["runs"]
    assert [r["metrics"] for r in runs if r["model"] == "ecgfounder_small"] == \
        [r["metrics"] for r in teacher_stage["runs"]]
    assert {r["model"] for r in runs} == {"ecgfounder_small", "cnn1d"}
    assert (tmp_path / "stages" / "cnn1d.json").exists()


def test_workdir_guard_names_the_changed_field_and_ignores_presentation(tiny_synthetic, tmp_path):
    from ecgq.studies.workdir import guard_config

    guard_config(tiny_synthetic, str(tmp_path))
    assert (tmp_path / "config.json").exists()
    looks_different = ml_collections.ConfigDict(tiny_synthetic.to_dict())
    looks_different.eval.plots = True
    looks_different.students.cnn1d.train.progress = True
    looks_different.data.cache_dir = "/elsewhere"
    guard_config(looks_different, str(tmp_path))  # same study: no complaint
    changed = ml_collections.ConfigDict(tiny_synthetic.to_dict())
    changed.students.cnn1d.train.learning_rate = 0.5
    with pytest.raises(UserError, match=r"students\.cnn1d\.train\.learning_rate \(0\.001 -> 0\.5\)"):
        guard_config(changed, str(tmp_path))
    saved = json.load(open(tmp_path / "config.json"))  # a workdir written before a field existed
    del saved["data"]["exclude_records"]
    json.dump(saved, open(tmp_path / "config.json", "w"))
    guard_config(tiny_synthetic, str(tmp_path))  # the new field at its off value: the same study
    json.dump(saved, open(tmp_path / "config.json", "w"))
    excluded = ml_collections.ConfigDict(tiny_synthetic.to_dict())
    excluded.data.exclude_records = "118"
    with pytest.raises(UserError, match="exclude_records"):
        guard_config(excluded, str(tmp_path))
    grown = ml_collections.ConfigDict(tiny_synthetic.to_dict())
    grown.student_names = ("cnn1d", "resnet1d")
    with pytest.raises(UserError, match="student_names"):
        guard_config(grown, str(tmp_path))


def test_a_config_that_fails_its_checks_never_claims_the_workdir(tiny_synthetic, tmp_path):
    tiny_synthetic.students.cnn1d.train.epochs = 0
    with pytest.raises(UserError, match="epochs"):
        studies.run(tiny_synthetic, str(tmp_path))
    assert not (tmp_path / "config.json").exists()


def test_switching_the_dataset_brings_its_defaults():
    base = load_experiment("default.py:quick")
    flagged = ml_collections.ConfigDict(base.to_dict())
    flagged.data.name = "wfdb_folder"
    flagged.data.crop_length = 1024
    done = distill_config.complete(base, flagged)
    assert done.data.task == "labels"  # wfdb_folder's only task, not synthetic's 'binary'
    assert done.data.bandpass is True and done.data.notch_hz == 50.0  # synthetic turns filters off
    assert done.data.crop_length == 1024  # the user's own flag survives
    mitbih = ml_collections.ConfigDict(base.to_dict())
    mitbih.data.name = "mitbih"
    assert distill_config.complete(base, mitbih).data.leads == "MLII"


def test_newly_named_students_get_configs_with_the_presets_training():
    base = load_experiment("default.py:quick")
    flagged = ml_collections.ConfigDict(base.to_dict())
    flagged.student_names = ("cnn1d, ae_vqc",)  # how --config.student_names=cnn1d,ae_vqc arrives
    del flagged.students["ae_vqc"], flagged.students["ae_mlp"]
    done = distill_config.complete(base, flagged)
    assert done.student_names == ("cnn1d", "ae_vqc", "ae_mlp")  # the quantum student's control joins it
    assert done.students.ae_mlp.train.epochs == base.students.cnn1d.train.epochs
    assert done.students.ae_vqc.train.epochs == base.students.cnn1d.train.epochs
    assert done.students.ae_vqc.train.learning_rate == 3e-3  # the model's own student default
    assert "pretrain" in done.students.ae_vqc
    distill_config.check(done)


def test_subsample_split_keeps_class_proportions_and_order():
    from ecgq.data.types import make_split
    from ecgq.studies.distill import subsample_split

    y = np.array([0] * 900 + [1] * 100)
    split = make_split(np.arange(1000, dtype=np.float32).reshape(1000, 1, 1), y,
                       [f"r{i // 10}" for i in range(1000)], [f"p{i // 10}" for i in range(1000)])
    small = subsample_split(split, 100, seed=0)
    assert len(small) == 100 and np.bincount(small.y).tolist() == [90, 10]
    assert np.all(np.diff(small.x[:, 0, 0]) > 0)  # sorted, and rows stay aligned:
    assert all(small.record[i] == f"r{int(small.x[i, 0, 0]) // 10}" for i in range(100))
    assert subsample_split(split, 0, seed=0) is split and subsample_split(split, 5000, seed=0) is split


def test_subsample_split_multilabel_draws_per_label_pattern():
    from ecgq.data.types import make_split
    from ecgq.studies.distill import subsample_split

    patterns = np.array([[1, 0, 0]] * 600 + [[0, 1, 1]] * 300 + [[0, 0, 1]] * 100, np.float32)
    split = make_split(np.zeros((1000, 4, 1)), patterns, [str(i) for i in range(1000)],
                       [str(i) for i in range(1000)], multilabel=True)
    small = subsample_split(split, 50, seed=1)
    rows, counts = np.unique(small.y, axis=0, return_counts=True)
    assert dict(zip(map(tuple, rows.astype(int).tolist()), counts.tolist())) == {
        (1, 0, 0): 30, (0, 1, 1): 15, (0, 0, 1): 5}


def test_a_quantum_student_without_its_control_is_refused():
    config = load_experiment("default.py:quick")
    config.student_names = ("cnn1d", "nisq_vqc")
    with pytest.raises(UserError, match=r"quantum student 'nisq_vqc' without its classical control 'nisq_mlp'"):
        distill_config.check(config)
