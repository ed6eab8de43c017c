"""PTB-XL superdiagnostic study (NORM, MI, STTC, CD, HYP; multi-label): strat_fold 1-8 train, 9
validation, 10 test, scored per record. The same views as ``ptbxl_binary.py``: the teacher sees
each record as ECGFounder was trained (12 leads, 500 Hz, 10 s), the students 256-sample lead-II
crops at 100 Hz, each crop with the teacher's mean logit of its record as KD target.

Presets: ``:quick`` (smoke run: 2 seeds, few epochs). On the 500-record subset in
``$ECGQ_DATA/ptbxl_subset500`` the rarer superclasses have few test records: read the CI.
"""

from __future__ import annotations

import importlib.util
import os


def get_config(arg: str | None = None):
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ptbxl_binary.py")
    spec = importlib.util.spec_from_file_location("ptbxl_binary", path)
    binary = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(binary)
    if arg not in (None, "quick"):
        raise ValueError(f"unknown preset {arg!r} for ptbxl_superdiagnostic.py; use ':quick' or nothing")
    c = binary.get_config(arg)
    c.study_name = "PTB-XL superdiagnostic (folds 1-8 / 9 / 10)"
    c.data.task = "superdiagnostic"
    c.teacher_data.task = "superdiagnostic"
    return c
