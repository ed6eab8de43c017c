"""One view of a beat dataset aligned beat by beat to another (a teacher's long context to the
students' beats).

Why: the teacher of a beat-level study may see a longer multi-beat context around each beat than
the students (``teacher_data.window_length``). Its logits are the students' KD targets and its
test score must be on the same beats, so its splits are reordered to the students' beats, named by
``(record, beat sample)``; a student beat the teacher's view lacks is an error, not a silent skip.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ecgq.data.errors import DataError
from ecgq.data.types import Split, Splits


def beat_keys(split: Split) -> np.ndarray:
    """``record:sample`` of every window (the identity of its beat, whatever the window)."""
    return np.char.add(np.char.add(split.record.astype(str), ":"), split.beat.astype(str))


def align_split(view: Split, target: Split, where: str) -> Split:
    """``view``'s windows of ``target``'s beats, in ``target``'s order."""
    if view.beat is None or target.beat is None:
        raise DataError(f"{where}: beat-by-beat alignment needs beat positions in both views "
                        "(Split.beat); this dataset does not provide them.")
    position = {key: i for i, key in enumerate(beat_keys(view))}
    keys = beat_keys(target)
    missing = [k for k in keys if k not in position]
    if missing:
        raise DataError(f"{where}: the teacher's view lacks {len(missing)} of the students' beats "
                        f"(e.g. {missing[:3]}), usually beats near a record's ends that its longer "
                        "window cannot hold; set --config.teacher_data.pad_edges=True.")
    index = np.asarray([position[k] for k in keys], dtype=np.int64)
    if not np.array_equal(view.y[index], target.y):
        raise DataError(f"{where}: the same beats carry different labels in the two views; "
                        "give both the same task and label mapping.")
    fields = {f.name: getattr(view, f.name) for f in dataclasses.fields(view)}
    return dataclasses.replace(view, **{k: v[index] for k, v in fields.items() if isinstance(v, np.ndarray)})


def align_beats(view: Splits, target: Splits, where: str = "teacher_data") -> Splits:
    """Every split of ``view`` aligned to the same split of ``target`` (see :func:`align_split`)."""
    return dataclasses.replace(view, **{name: align_split(getattr(view, name), split, f"{where} ({name})")
                                        for name, split in target.items()})
