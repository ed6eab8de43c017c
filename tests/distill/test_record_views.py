"""The teacher's own view of the records: per-record logit aggregation and record-level scoring."""

from __future__ import annotations

import numpy as np
import pytest

from ecgq.data.types import make_split
from ecgq.distill.results import TaskInfo, evaluate
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


def test_record_level_metrics_average_window_probabilities_per_record():
    # Record r0 (label 1): windows lean 1, 1, 0 -> mean probability of class 1 > 0.5 -> correct.
    # Record r1 (label 0): windows lean 0, 0 -> correct.  Window level gets one of five wrong.
    y = np.array([1, 1, 1, 0, 0])
    split = make_split(np.zeros((5, 4, 1)), y, ["r0", "r0", "r0", "r1", "r1"], ["p0"] * 3 + ["p1"] * 2)
    logits = np.array([[0.0, 3.0], [0.0, 2.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    task = TaskInfo(n_outputs=2, head="softmax", multilabel=False, record_level=True, use_rr=False)
    out = evaluate(logits, split, task)
    assert out["record"]["accuracy"] == 1.0
    assert out["window"]["accuracy"] == pytest.approx(0.8)
    window_only = evaluate(logits, split, TaskInfo(2, "softmax", False, False, False))
    assert "record" not in window_only
