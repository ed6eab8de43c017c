"""A teacher's long multi-beat view aligned beat by beat to the students' beats (real MIT-BIH)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from ecgq.data import data_config
from ecgq.data.align import align_beats, align_split
from ecgq.data.errors import DataError
from ecgq.data.mitbih import load_record
from ecgq.data.types import make_split


def _cfg(**fields):
    cfg = data_config("mitbih")
    cfg.update(fields)
    return cfg


def test_padded_long_windows_keep_every_beat_and_name_it_by_its_source_sample(mitdb_dir):
    path = str(mitdb_dir / "100")
    short = load_record(path, _cfg(), ("MLII",))
    long = load_record(path, _cfg(window_length=448, target_rate=180, pad_edges=True), ("MLII",))
    unpadded = load_record(path, _cfg(window_length=448, target_rate=180), ("MLII",))
    assert long["x"].shape[1:] == (448, 1)
    assert set(short["beat"]) <= set(long["beat"])  # every student beat is in the padded view
    assert len(unpadded["beat"]) < len(long["beat"])  # without padding, edge beats fall out
    assert long["dropped"]["window_outside_record"] == 0
    # the beat id is the annotation's sample at the record's own 360 Hz, whatever the view's rate
    common = np.intersect1d(short["beat"], long["beat"])
    np.testing.assert_array_equal(short["y"][np.isin(short["beat"], common)],
                                  long["y"][np.isin(long["beat"], common)])


def _split(records, beats, y, width=4):
    n = len(beats)
    return make_split(np.arange(n * width, dtype=np.float32).reshape(n, width, 1), y, records, records,
                      rr=np.tile(np.arange(n, dtype=np.float32)[:, None], (1, 7)), beat=beats)


def test_align_reorders_the_view_to_the_target_and_refuses_missing_beats():
    view = _split(["a", "a", "b", "b"], [10, 20, 10, 30], [0, 1, 0, 1], width=6)
    target = _split(["b", "a"], [30, 20], [1, 1], width=2)
    aligned = align_split(view, target, "teacher_data")
    assert aligned.record.tolist() == ["b", "a"] and aligned.beat.tolist() == [30, 20]
    np.testing.assert_array_equal(aligned.x, view.x[[3, 1]])  # rows move together
    np.testing.assert_array_equal(aligned.rr, view.rr[[3, 1]])
    assert aligned.x.shape[1] == 6  # the view keeps its own (longer) windows
    lacking = _split(["c"], [5], [0])
    with pytest.raises(DataError, match=r"lacks 1 of the students' beats.*teacher_data\.pad_edges=True"):
        align_split(view, lacking, "teacher_data")
    relabelled = _split(["b"], [30], [0])
    with pytest.raises(DataError, match="different labels"):
        align_split(view, relabelled, "teacher_data")
    no_beats = dataclasses.replace(view, beat=None)
    with pytest.raises(DataError, match="beat positions"):
        align_split(no_beats, target, "teacher_data")


def test_align_beats_aligns_every_split():
    from ecgq.data.types import DatasetInfo, Splits

    info = DatasetInfo("mitbih", "binary", ("normal", "abnormal"), False, 180.0, ("MLII",), {})
    view = Splits(train=_split(["a", "a"], [1, 2], [0, 1]), val=_split(["b"], [3], [0]),
                  test=_split(["c", "c"], [4, 5], [1, 0]), info=info)
    target = Splits(train=_split(["a"], [2], [1]), val=_split(["b"], [3], [0]),
                    test=_split(["c", "c"], [5, 4], [0, 1]), info=info)
    aligned = align_beats(view, target)
    assert [len(s) for _, s in aligned.items()] == [1, 1, 2]
    assert aligned.test.beat.tolist() == [5, 4] and aligned.info is view.info
