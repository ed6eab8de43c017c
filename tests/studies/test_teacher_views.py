"""Teachers that see more than their students: PTB-XL's own 12-lead view, and released weights
fine-tuned inside a study."""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
from study_helpers import load_experiment, shrink

from ecgq import studies


def test_ptbxl_teacher_sees_its_own_view_and_students_are_scored_per_record(ptbxl_dir, tmp_path):
    base = load_experiment("ptbxl_binary.py:quick")
    config = shrink(load_experiment("ptbxl_binary.py:quick"), students=("cnn1d",), n_seeds=1)
    config.data.data_dir = str(ptbxl_dir)  # asked once: the teacher's view reads the same folder
    config.teacher_data.sampling_rate = 100  # 12 leads x 1000 samples keeps the CPU test short
    config.teacher.sampling_rate, config.teacher.input_length = 100.0, 1000
    config.eval.profile = False
    config = studies.prepare(base, config)
    assert config.teacher_data.data_dir == ""
    from ecgq.studies.distill_config import teacher_view

    assert teacher_view(config).data_dir == str(ptbxl_dir)
    out = studies.run(config, str(tmp_path))
    saved = json.load(open(tmp_path / "config.json"))
    assert saved["teacher"]["lead_order"] == "I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,V6"  # PTB-XL says AVR
    assert saved["teacher"]["n_leads"] == 12
    assert any("teacher sees its own view" in note for note in out["meta"]["notes"])
    doc = json.load(open(tmp_path / "results.json"))
    student_runs = [r for r in doc["runs"] if r["model"] == "cnn1d"]
    assert student_runs and all(r["level"] == "record" for r in student_runs)
    assert all(r["window_metrics"] != r["metrics"] for r in student_runs)  # crops vs records differ
    from ecgq.data.ptbxl import read_database

    db = read_database(str(ptbxl_dir))  # fold 10 records that carry a diagnostic superclass
    n_test_records = int(((db["strat_fold"] == 10) & (db["superclasses"].str.len() > 0)).sum())
    assert out["meta"]["n"]["test"] == n_test_records * (1000 // 256)  # 10 s at 100 Hz, 256-sample crops


def _converted_released_checkpoint(directory: str, n_leads: int = 1):
    """A released-architecture Net1D with random weights, saved as a converted Orbax checkpoint."""
    from ecgq.models import ecgfounder
    from ecgq.models.ecgfounder_import import save_converted

    module = ecgfounder.released_net1d()
    variables = jax.jit(module.init)(jax.random.key(3), jnp.zeros((1, 256, n_leads)))
    save_converted(variables, module, n_leads, directory)
    return variables


def test_released_teacher_is_fine_tuned_inside_a_study_as_a_linear_probe(mitdb_dir, tmp_path):
    checkpoint = str(tmp_path / "ecgfounder_1lead")
    released = _converted_released_checkpoint(checkpoint)
    base = load_experiment("mitbih_binary.py:quick")
    config = shrink(load_experiment("mitbih_binary.py:quick"), students=("cnn1d",), n_seeds=1)
    config.teacher.name = "ecgfounder"
    config = studies.prepare(base, config)  # brings ecgfounder's own fields (12 leads, 500 Hz, 5000)
    assert config.teacher.n_leads == 12 and config.teacher.input_length == 5000
    config.teacher.checkpoint, config.teacher.finetune = checkpoint, "linear_probe"
    config.teacher.n_leads, config.teacher.lead_order = 1, "II"  # the single-lead release reads lead II
    config.teacher.sampling_rate, config.teacher.input_length = 0.0, 0  # MIT-BIH beats as they are
    config.teacher.train.batch_size = 32
    config.data.data_dir = str(mitdb_dir)
    config.subsample.train, config.subsample.val, config.subsample.test = 64, 64, 64
    config.eval.profile = False
    out = studies.run(studies.prepare(None, config), str(tmp_path / "w"))
    assert any(f"teacher initialised from {checkpoint}" in note for note in out["meta"]["notes"])

    root = tmp_path / "w" / "checkpoints" / "teacher"
    step = max(int(p) for p in os.listdir(root) if p.isdigit())
    best = ocp.StandardCheckpointer().restore(os.path.abspath(root / str(step) / "best"))
    trained = best["params"]
    for top, subtree in released["params"].items():
        if top == "dense":
            continue  # the new task head trains
        for a, b in zip(jax.tree.leaves(subtree), jax.tree.leaves(trained[top])):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b)[0])  # the backbone never moved
    assert trained["dense"]["kernel"].shape[-1] == 2
    # the preset feeds the RR features to every model: the new head reads them beside the backbone
    n_rr = len(config.rr_features)  # the preset's RR ratios
    assert config.use_rr and trained["dense"]["kernel"].shape[-2] == released["params"]["dense"]["kernel"].shape[0] + n_rr
