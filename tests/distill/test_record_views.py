"""The teacher's own view of the records: per-record logit aggregation and record-level scoring."""

from __future__ import annotations

import numpy as np
import pytest

from ecgq.data.types import make_split
from ecgq.distill.results import TaskInfo, evaluate, record_labelled
from ecgq.distill.teacher_stage import logits_by_record


def test_each_student_window_gets_the_mean_teacher_logit_of_its_record():
    teacher_logits = np.array([[1.0, 0.0], [3.0, 2.0], [10.0, -4.0]], np.float32)
    teacher_records = np.array(["a", "a", "b"])
    students = np.array(["b", "a", "a", "b", "a"])
    out = logits_by_record(teacher_logits, teacher_records, students)
    expected = {"a": [2.0, 1.0], "b": [10.0, -4.0]}
    np.testing.assert_allclose(out, [expected[r] for r in students])
    assert out.dtype == np.float32


def test_a_student_record_the_teacher_never_saw_is_an_error():
    with pytest.raises(ValueError, match="lack records"):
        logits_by_record(np.zeros((1, 2), np.float32), np.array(["a"]), np.array(["a", "zz"]))


def test_record_level_metrics_average_window_logits_per_record():
    # Record r0 (label 1): logits [0,10], [2,0], [2,0] -> mean logit [1.33, 3.33] -> class 1 (correct);
    # averaging probabilities instead would give P(1) = (1 + 0.12 + 0.12) / 3 < 0.5 -> wrong.
    # Record r1 (label 0): windows lean 0, 0 -> correct. Window level gets two of five wrong.
    y = np.array([1, 1, 1, 0, 0])
    split = make_split(np.zeros((5, 4, 1)), y, ["r0", "r0", "r0", "r1", "r1"], ["p0"] * 3 + ["p1"] * 2)
    logits = np.array([[0.0, 10.0], [2.0, 0.0], [2.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    task = TaskInfo(n_outputs=2, head="softmax", multilabel=False, record_level=True, use_rr=False)
    out = evaluate(logits, split, task)
    assert out["record"]["accuracy"] == 1.0
    assert out["window"]["accuracy"] == pytest.approx(0.6)
    # without eval.record_level the per-record scores still come, beside the per-window ones
    automatic = evaluate(logits, split, TaskInfo(2, "softmax", False, False, False))
    assert automatic["record"] == out["record"]


def test_beat_splits_with_mixed_labels_per_record_get_window_scores_only():
    y = np.array([1, 0, 0, 0])  # one record holds beats of both classes: no record label
    split = make_split(np.zeros((4, 4, 1)), y, ["r0", "r0", "r1", "r1"], ["r0", "r0", "r1", "r1"])
    assert not record_labelled(split)
    assert "record" not in evaluate(np.zeros((4, 2)), split, TaskInfo(2, "softmax", False, False, False))
    one_each = make_split(np.zeros((2, 4, 1)), [1, 0], ["a", "b"], ["a", "b"])
    assert not record_labelled(one_each)  # one window per record: nothing to average
    with pytest.raises(ValueError, match="record_level"):
        evaluate(np.zeros((4, 2)), split, TaskInfo(2, "softmax", False, True, False))


def test_the_report_shows_per_record_metrics_beside_per_window_ones(tmp_path):
    from ecgq.eval import report

    def metrics(value):
        return {name: value for name in ("accuracy", "balanced_accuracy", "f1_macro", "roc_auc", "sensitivity",
                                         "specificity")}

    runs = [{"model": "cnn1d", "kd": False, "temperature": None, "alpha": None, "seed": s, "split": "test",
             "level": "window", "metrics": metrics(0.6 + s / 10), "window_metrics": metrics(0.6 + s / 10),
             "record_metrics": metrics(0.9), "val_metrics": metrics(0.5), "params": {"classical": 10, "quantum": 0},
             "flops": None, "latency_ms": None, "energy_mj": None} for s in (0, 1)]
    report.write_report(str(tmp_path), runs, {"study_name": "t", "dataset": "wfdb_folder"})
    text = (tmp_path / "results.md").read_text()
    per_record = text.split("## Per-record metrics")[1]
    assert "0.900" in per_record and "| cnn1d" in per_record
    assert "Per-window metrics" not in text  # the headline is already per window
    assert [title for title, _ in report.other_levels([dict(r, level="record") for r in runs])] == \
        [report.LEVELS[1][2]]


def test_arrays_with_a_record_column_are_record_labelled(tmp_path):
    from ecgq.data import data_config, load_splits

    rng = np.random.default_rng(0)
    records = np.repeat([f"r{i}" for i in range(12)], 3)  # three windows per record, one label each
    labels = np.repeat(np.arange(12) % 2, 3)
    np.savez(tmp_path / "windows.npz", x_train=rng.normal(size=(36, 32)).astype(np.float32), y_train=labels,
             record_train=records, x_test=rng.normal(size=(36, 32)).astype(np.float32), y_test=labels,
             record_test=np.char.add("t", records))
    cfg = data_config("arrays")
    cfg.data_dir, cfg.cache = str(tmp_path / "windows.npz"), False
    splits = load_splits(cfg)
    assert record_labelled(splits.test) and record_labelled(splits.train)
    out = evaluate(rng.normal(size=(36, 2)), splits.test, TaskInfo(2, "softmax", False, False, False))
    assert set(out) == {"window", "record"}
