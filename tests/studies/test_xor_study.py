"""The XOR classical-to-quantum KD study end to end (its :quick preset), its presets, and the
decision-region figure (read back from the checkpoints, so it shows the models that were scored)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score
from study_helpers import load_experiment

from ecgq import studies
from ecgq.data import load_splits
from ecgq.eval.decision_regions import class_map, plane_grid, plot_decision_regions
from ecgq.eval.metrics import METRIC_NAMES
from ecgq.models import build_model
from ecgq.studies import decision_plots
from ecgq.train.checkpoints import restore_best_members

STUDENTS = ("xor_mlp", "xor_vqc_universal", "xor_vqc_selective", "xor_mlp_small")
PARAMS = {"xor_teacher": {"classical": 1284, "quantum": 0}, "xor_mlp": {"classical": 197, "quantum": 0},
          "xor_vqc_universal": {"classical": 18, "quantum": 60},
          "xor_vqc_selective": {"classical": 32, "quantum": 40}, "xor_mlp_small": {"classical": 77, "quantum": 0}}


def _quick():
    config = load_experiment("xor_c2q.py:quick")
    config.teacher.train.progress = False
    for name in config.student_names:
        config.students[name].train.progress = False
    config.eval.latency_batch_sizes = (1,)  # one latency program per model (CI has 2 cores)
    return config


def _test_f1(config, name, model_cfg, quantum, best, index, splits) -> float:
    import jax

    model = build_model(name, model_cfg, len(splits.info.class_names), quantum)
    variables = {k: jax.tree_util.tree_map(lambda a: a[index], v) for k, v in best.items()}
    pred = np.asarray(model.apply(variables, splits.test.x)).argmax(-1)
    return f1_score(splits.test.y, pred, average="macro", labels=np.arange(4), zero_division=0)


def test_quick_preset_end_to_end(tmp_path, capsys):
    config = studies.prepare(None, _quick())
    assert tuple(config.student_names) == STUDENTS and config.teacher.name == "xor_teacher"
    out = studies.run(config, str(tmp_path))
    doc = json.loads((tmp_path / "results.json").read_text())
    assert doc["meta"]["dataset"] == "xor" and doc["meta"]["class_names"] == ["c0", "c1", "c2", "c3"]
    assert {r["model"] for r in doc["runs"]} == set(PARAMS)
    for run in doc["runs"]:
        assert set(run["metrics"]) == set(METRIC_NAMES) >= {"f1_macro", "accuracy", "balanced_accuracy"}
        assert run["params"] == PARAMS[run["model"]], run["model"]
    for name in STUDENTS:
        entries = [e for e in doc["summary"] if e["model"] == name]
        assert sorted(e["kd"] for e in entries) == [False, True] and {e["n_seeds"] for e in entries} == {2}
        for e in entries:
            assert {"mean", "ci95"} <= set(e["metrics"]["f1_macro"])
    comparison = {c["model"]: c for c in doc["kd_comparison"]}
    assert list(comparison) == list(STUDENTS)
    for c in comparison.values():
        assert c["status"] == "ok" and c["n_pairs"] == 2 and "f1_macro" in c["differences"]
    md = (tmp_path / "results.md").read_text()
    assert "KD vs no KD (paired by seed)" in md and "f1_macro" in md
    assert out["paths"]["plot_decision_regions"] == str(tmp_path / "decision_regions.png")
    assert (tmp_path / "decision_regions.png").stat().st_size > 10_000
    assert "Report:" in capsys.readouterr().out

    # The figure's models are the scored ones: read back from the checkpoints they reproduce the
    # reported test macro F1 (teacher, and a circuit student's KD member of the first seed).
    splits = load_splits(config.data)
    runs = {(r["model"], r["kd"], r["seed"]): r for r in doc["runs"]}
    teacher_best = restore_best_members(str(tmp_path / "checkpoints" / "teacher"))
    f1 = _test_f1(config, "xor_teacher", config.teacher, None, teacher_best, 0, splits)
    assert f1 == pytest.approx(runs[("xor_teacher", False, 0)]["metrics"]["f1_macro"], abs=1e-9)
    best = restore_best_members(str(tmp_path / "checkpoints" / "xor_vqc_selective"))
    assert best["params"]["core"]["quantum_weights"].shape == (4, 5, 4, 2)  # members: 2 no-KD, 2 KD seeds
    for index, (kd, seed) in enumerate([(False, 0), (False, 1), (True, 0), (True, 1)]):
        f1 = _test_f1(config, "xor_vqc_selective", config.students.xor_vqc_selective, config.quantum, best,
                      index, splits)
        assert f1 == pytest.approx(runs[("xor_vqc_selective", kd, seed)]["metrics"]["f1_macro"], abs=1e-6)


@pytest.mark.parametrize("preset", ["", ":quick", ":sweep"])
def test_every_field_is_documented_by_its_owner(preset):
    from ecgq.configs import leaves
    from ecgq.studies.help import describe

    config = load_experiment(f"xor_c2q.py{preset}")
    assert not [p for p, _, doc in describe(config) if not doc]
    docs = studies.STUDIES.get(config.study).docs(config)
    assert not set(docs) - {p for p, _ in leaves(config)}
    assert docs["data.xor.n_levels"].startswith("xor: ") and "quantum_" not in docs["students.xor_vqc_selective.wires"]


def test_presets():
    full = load_experiment("xor_c2q.py")
    assert all(full.students[n].train.n_seeds >= 10 for n in full.student_names)
    d = full.distill
    assert (tuple(d.temperatures), tuple(d.alphas), d.include_no_kd) == ((4.0,), (0.5,), True)
    sweep = studies.prepare(None, load_experiment("xor_c2q.py:sweep"))
    assert len(sweep.distill.temperatures) * len(sweep.distill.alphas) == 16 and sweep.distill.include_no_kd
    quick = load_experiment("xor_c2q.py:quick")
    assert quick.data.xor.n_train < full.data.xor.n_train and quick.students.xor_mlp.train.epochs < 5
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        load_experiment("xor_c2q.py:nope")


def test_no_figure_unless_the_points_are_planar(tmp_path):
    config = _quick()
    config.data.xor.n_dims, config.data.xor.n_train, config.data.xor.n_val, config.data.xor.n_test = 4, 8, 8, 8
    splits = load_splits(config.data)
    assert not decision_plots.applies(config, splits)
    assert decision_plots.write(config, str(tmp_path), splits, [], []) == {}
    config.data.xor.n_dims = 2
    assert decision_plots.applies(config, load_splits(config.data))


def test_plane_grid_orientation_and_plot(tmp_path):
    points, extent = plane_grid(-1.0, 1.0, 11)
    assert points.shape == (121, 2) and extent == (-1.0, 1.0, -1.0, 1.0)
    right = class_map((points[:, 0] > 0).astype(int), 11)
    top = class_map(np.stack([points[:, 1] <= 0, points[:, 1] > 0], axis=-1).astype(float), 11)  # logits
    assert right[:, -1].tolist() == [1] * 11 and right[:, 0].tolist() == [0] * 11  # columns follow x1
    assert top[-1].tolist() == [1] * 11 and top[0].tolist() == [0] * 11  # rows follow x2, origin lower
    with pytest.raises(ValueError, match="11 x 11"):
        class_map(np.zeros(120), 11)
    path = plot_decision_regions([("x1 > 0", right), None, ("x2 > 0", top)], extent, str(tmp_path / "r.png"),
                                 ("a", "b"), points=points[:5], labels=np.zeros(5, int))
    assert (tmp_path / "r.png").stat().st_size > 1000 and path.endswith("r.png")
    with pytest.raises(ValueError, match="no panel"):
        plot_decision_regions([], extent, str(tmp_path / "s.png"), ("a",))
