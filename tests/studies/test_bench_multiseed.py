"""Study ``bench_multiseed``: the written times are what ``time_members`` measured, the ratio and the
speed-up are derived from them the right way round, and bad fields are rejected by name."""

from __future__ import annotations

import json
import math
import os
import sys

import flax.linen as nn
import jax
import numpy as np
import pytest

from ecgq import studies
from ecgq.errors import ConfigError
from ecgq.studies import bench_multiseed

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
import launch  # noqa: E402  (the launcher is a script at the repository root)

sys.path.pop(0)


def _config(**fields):
    """The experiment's ``:quick`` preset with a tiny cnn1d benchmark."""
    config = launch._load_config(os.path.join(ROOT, "experiments", "bench_multiseed.py") + ":quick")
    config.multiseed_bench.update(dict(model="cnn1d", seeds=2, steps=2, batch=8, repeats=1))
    config.multiseed_bench.update(fields)
    return config


def test_json_reports_ratio_and_speedup_of_the_measured_times(tmp_path, monkeypatch, capsys):
    calls = []
    times = {1: 0.25, 3: 1.0}  # exact in binary: ratio 4, speed-up 3 * 0.25 / 1 = 0.75

    def fake_time_members(model, n_members, x, y, steps_n, batch, repeats=3):
        calls.append(dict(model=model, n=n_members, x=x, y=y, steps=steps_n, batch=batch, repeats=repeats))
        return times[n_members]

    monkeypatch.setattr(bench_multiseed, "time_members", fake_time_members)
    config = studies.prepare(None, _config(seeds=3, steps=7, batch=16, repeats=2))
    returned = studies.run(config, str(tmp_path))
    result = json.loads((tmp_path / "bench_multiseed.json").read_text())
    assert result == returned
    assert [c["n"] for c in calls] == [1, 3]
    for call in calls:
        assert isinstance(call["model"], nn.Module)
        assert (call["steps"], call["batch"], call["repeats"]) == (7, 16, 2)
        assert call["x"].shape == (2048, 256, 1) and call["x"].dtype == np.float32
        assert set(np.unique(call["y"])) <= {0, 1}
    assert calls[0]["x"] is calls[1]["x"]  # both programs time the same data
    assert result["seconds_1_seed"] == 0.25 and result["seconds_n_seeds"] == 1.0
    assert result["ratio"] == 4.0
    assert result["speedup_vs_sequential"] == 0.75
    assert {k: result[k] for k in ("model", "seeds", "steps", "batch")} == \
        {"model": "cnn1d", "seeds": 3, "steps": 7, "batch": 16}
    assert result["backend"] == jax.default_backend() and result["devices"] == len(jax.devices())
    out = capsys.readouterr().out
    assert "ratio 4.00" in out and "0.75x faster than 3 sequential runs" in out


def test_tiny_unpatched_run_writes_what_time_members_measured(tmp_path, monkeypatch):
    measured = {}
    real = bench_multiseed.time_members

    def spy(model, n_members, *args, **kwargs):
        measured[n_members] = real(model, n_members, *args, **kwargs)
        return measured[n_members]

    monkeypatch.setattr(bench_multiseed, "time_members", spy)
    studies.run(studies.prepare(None, _config()), str(tmp_path))
    result = json.loads((tmp_path / "bench_multiseed.json").read_text())
    one, many = measured[1], measured[2]
    for seconds in (one, many):
        assert math.isfinite(seconds) and 0 < seconds < 60
    assert (result["seconds_1_seed"], result["seconds_n_seeds"]) == (one, many)
    assert result["ratio"] == many / one
    assert result["speedup_vs_sequential"] == 2 * one / many
    assert result["seeds"] == 2 and result["model"] == "cnn1d"


def test_quick_preset_passes_the_check():
    preset = launch._load_config(os.path.join(ROOT, "experiments", "bench_multiseed.py") + ":quick")
    assert studies.prepare(None, preset).multiseed_bench.model == "ae_vqc"
    studies.prepare(None, _config())


def test_unknown_model_is_rejected_by_name():
    with pytest.raises(ConfigError, match=r"Unknown model 'cnn9d' in --config\.multiseed_bench\.model.*'cnn1d'"):
        studies.prepare(None, _config(model="cnn9d"))


@pytest.mark.parametrize("field", ["steps", "seeds", "batch", "repeats"])
def test_non_positive_counts_are_rejected_by_name(field):
    with pytest.raises(ConfigError, match=rf"--config\.multiseed_bench\.{field} must be >= 1, got 0"):
        studies.prepare(None, _config(**{field: 0}))
