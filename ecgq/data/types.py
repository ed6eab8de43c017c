"""Containers every loader returns (see docs/CONTRACTS.md); nothing here knows about a dataset."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class Split:
    """One split of windows with the provenance needed for leakage checks and aggregation.

    x: float32 (n, time, leads), channels-last; images are (n, height, width, channels), equally
    channels-last (``ecgq.data.medmnist``). y: int32 (n,) class index, or float32
    (n, n_classes) multi-hot when ``DatasetInfo.multilabel``. record / patient: str (n,) source ids
    (patient == record where the dataset does not know patients). rr: float32 (n, 7) RR context
    (``ecgq.data.rr.RR_FEATURES``: pre, post, local and record mean RR in seconds, then the first
    three over the record mean), or None when the dataset has no beat annotations. beat: int64 (n,)
    sample index of each window's annotated beat in its source record (at the record's own rate),
    or None: with ``record`` it names a beat independently of the window around it, so that two
    views of the same beats (a student's 0.7 s, a teacher's 2.5 s) can be aligned one to one.
    """

    x: np.ndarray
    y: np.ndarray
    record: np.ndarray
    patient: np.ndarray
    rr: np.ndarray | None = None
    beat: np.ndarray | None = None

    def __post_init__(self):
        n = len(self.x)
        if self.x.ndim not in (3, 4):
            raise ValueError(f"Split.x must be (n, time, leads) or (n, height, width, channels), got shape "
                             f"{self.x.shape}.")
        optional = tuple(name for name in ("rr", "beat") if getattr(self, name) is not None)
        for name in ("y", "record", "patient") + optional:
            if len(getattr(self, name)) != n:
                raise ValueError(f"Split.{name} has {len(getattr(self, name))} rows, x has {n}.")

    def __len__(self) -> int:
        return len(self.x)


def make_split(x, y, record, patient, rr=None, multilabel: bool = False, beat=None) -> Split:
    """Build a Split with the contract's dtypes (float32 x, int32/float32 y, str ids)."""
    return Split(
        x=np.asarray(x, dtype=np.float32),
        y=np.asarray(y, dtype=np.float32 if multilabel else np.int32),
        record=np.asarray(record, dtype=str),
        patient=np.asarray(patient, dtype=str),
        rr=None if rr is None else np.asarray(rr, dtype=np.float32),
        beat=None if beat is None else np.asarray(beat, dtype=np.int64),
    )


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What a consumer needs to interpret the arrays.

    ``dropped`` is split -> reason -> count (windows, beats or records left out). ``skipped`` names
    the records skipped under ``data.skip_bad_records``: split -> reason -> record ids (the ids of
    ``Split.record``), with ``len(skipped[s][r]) == dropped[s]["skipped_record:" + r]``; it is empty
    when nothing was skipped (and defaults to empty, so older constructors keep working).
    """

    name: str
    task: str
    class_names: tuple[str, ...]
    multilabel: bool
    sampling_rate: float
    lead_names: tuple[str, ...]
    dropped: dict[str, dict[str, int]]
    skipped: dict[str, dict[str, list[str]]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Splits:
    train: Split
    val: Split
    test: Split
    info: DatasetInfo

    def items(self):
        """(name, split) pairs in the fixed order train, val, test."""
        return (("train", self.train), ("val", self.val), ("test", self.test))


@dataclasses.dataclass(frozen=True)
class PhysioNetSource:
    """Where a public dataset lives: PhysioNet slug, ``$ECGQ_DATA`` sub-folder, proof-of-data file."""

    slug: str
    subdir: str
    marker: str = "RECORDS"
    extra_files: tuple[str, ...] = ()
