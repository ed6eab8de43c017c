"""The QViT study end to end: its :quick preset on the shared BreastMNIST file (teacher, vit / qvit
scratch and KD, 1 and 2 heads, AUC / accuracy / parameters / GFLOPs / epoch time), the same preset
unchanged on an RGB multi-class file, and qvit as a student of the ECG distillation study."""

from __future__ import annotations

import json

import numpy as np
from study_helpers import load_experiment

from ecgq import studies
from ecgq.data import load_splits
from ecgq.studies import distill

STUDENTS = ("vit", "qvit", "vit_2h", "qvit_2h")


def _quick(data_dir, subset):
    config = load_experiment("qvit_medmnist.py:quick")
    config.data.data_dir, config.data.subset = str(data_dir), subset
    config.teacher.train.progress = False
    for name in config.student_names:
        config.students[name].train.progress = False
    config.eval.latency_batch_sizes = (1,)  # one latency program per model (CI has 2 cores)
    # One finite-shot condition on a few windows: the stacked Q/K/V/out circuit maps need the "shots"
    # stream inside their nn.vmap (noise levels are tested on the XOR study's circuits).
    config.eval.nisq_shots, config.eval.nisq_depolarizing, config.eval.nisq_max_windows = (100,), (), 8
    return config


def test_quick_preset_on_breastmnist(tmp_path, medmnist_dir):
    config = studies.prepare(None, _quick(medmnist_dir, "breastmnist"))
    assert config.teacher.name == "resnet2d" and tuple(config.student_names) == STUDENTS
    out = studies.run(config, str(tmp_path))
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["meta"]["dataset"] == "medmnist" and doc["meta"]["n"]["test"] == 128
    rows = {(e["model"], e["kd"]): e for e in doc["summary"]}
    assert set(rows) == {("resnet2d", False)} | {(m, kd) for m in STUDENTS for kd in (False, True)}
    for (model, _), e in rows.items():
        assert {"roc_auc", "accuracy"} <= set(e["metrics"]) and e["flops"] > 0
        assert e["n_seeds"] == (1 if model == "resnet2d" else 2)
        assert (e["params"]["quantum"] > 0) == model.startswith("qvit")
    nisq = {r["model"] for r in doc["runs"] if "shots=100" in r.get("nisq", {}).get("conditions", {})}
    assert nisq == {"qvit", "qvit_2h"}  # every quantum student, under finite shots, and no classical one
    for heads in ("", "_2h"):
        q, c = rows[(f"qvit{heads}", False)]["params"], rows[(f"vit{heads}", False)]["params"]
        assert abs(sum(c.values()) - sum(q.values())) <= 0.1 * sum(q.values())
    timing = json.loads((tmp_path / "timing.json").read_text())
    assert set(timing) == set(STUDENTS)
    assert all(0.0 <= timing[m]["circuit_share"] <= 1.0 for m in ("qvit", "qvit_2h"))
    assert all(timing[m]["model_epoch_s"] > 0 for m in STUDENTS)
    table = (tmp_path / "qvit_table.md").read_text()
    assert "ROC AUC" in table and "test split (n=128)" in table and table.count("| qvit_2h |") == 2
    assert out["timing"] == timing


def test_the_same_preset_runs_on_an_rgb_multiclass_file(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, n in (("train", 40), ("val", 20), ("test", 30)):
        arrays[f"{split}_labels"] = np.arange(n).reshape(n, 1) % 5  # every class in every split
        arrays[f"{split}_images"] = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    np.savez(tmp_path / "dermamnist_64.npz", **arrays)  # file name as the medmnist package writes 64 px
    arrays = {k: (v[:, :28, :28] if k.endswith("images") else v) for k, v in arrays.items()}
    np.savez(tmp_path / "dermamnist.npz", **arrays)
    config = _quick(tmp_path, "dermamnist")
    config.student_names = ("qvit",)  # its control vit joins by itself
    config.timing.steps = 0
    config.eval.profile = False  # FLOPs and latency are the first test's; here the labels and channels matter
    config = studies.prepare(load_experiment("qvit_medmnist.py:quick"), config)
    assert tuple(config.student_names) == ("qvit", "vit")
    studies.run(config, str(tmp_path / "run"))
    doc = json.loads((tmp_path / "run" / "results.json").read_text())
    assert doc["meta"]["class_names"] == ["0", "1", "2", "3", "4"] and doc["meta"]["head"] == "softmax"
    assert {r["model"] for r in doc["runs"]} == {"resnet2d", "qvit", "vit"}
    assert all(np.isfinite(r["metrics"]["roc_auc"]) for r in doc["runs"])  # macro one-vs-rest AUC


def test_qvit_is_a_student_of_the_ecg_study():
    base = load_experiment("default.py:quick")
    config = base.copy_and_resolve_references()
    config.student_names = ("qvit",)
    config.data.synthetic.n_train = config.data.synthetic.n_val = config.data.synthetic.n_test = 16
    config = studies.prepare(base, config)
    assert tuple(config.student_names) == ("qvit", "vit")
    for name in config.student_names:
        config.students[name].patch_size = 16
    splits = load_splits(config.data)
    distill.fit_models_to_data(config, splits, splits)  # abstract init on the ECG windows
    assert splits.train.x.ndim == 3 and config.students.vit.hidden > 0
