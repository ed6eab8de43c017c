"""The launcher: every experiment loads, every field is documented, studies dispatch."""

from __future__ import annotations

import glob
import os
import subprocess
import sys

import pytest

from ecgq import config_docs, run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENTS = sorted(glob.glob(os.path.join(ROOT, "experiments", "*.py")))


sys.path.insert(0, ROOT)
import launch  # noqa: E402  (the launcher is a script at the repository root)

sys.path.pop(0)


@pytest.mark.parametrize("path", EXPERIMENTS, ids=os.path.basename)
def test_every_field_of_every_experiment_is_documented(path):
    config = launch._load_config(path)
    assert config.study in run.STUDIES
    undocumented = [p for p, _, doc in config_docs.describe(config) if not doc]
    assert not undocumented, f"{os.path.basename(path)}: undocumented fields {undocumented}"


def test_unknown_study_names_the_valid_ones():
    with pytest.raises(ValueError, match="data_summary"):
        run.resolve_runner("no_such_study")


def test_helpfull_lists_config_fields():
    out = subprocess.run(
        [sys.executable, "launch.py", "--config=experiments/data_summary.py", "--helpfull"],
        cwd=ROOT, capture_output=True, text=True,  # absl exits 1 after printing help
    ).stdout
    assert "--config.data.name" in out
    assert "UNDOCUMENTED" not in out
