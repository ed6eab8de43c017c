"""Fixtures of the study tests."""

from __future__ import annotations

import pytest
from study_helpers import load_experiment, shrink


@pytest.fixture()
def tiny_synthetic():
    """The default study on 256/128/128 synthetic windows, cnn1d only."""
    config = shrink(load_experiment("default.py:quick"), students=("cnn1d",))
    config.eval.plots = False
    return config
