"""``bench_sharding``: one process per device count, members padded to the devices, one table."""

from __future__ import annotations

import json

import pytest
from study_helpers import load_experiment

from ecgq import studies
from ecgq.errors import ConfigError


def test_bench_sharding_times_each_device_count_in_its_own_process(tmp_path, capsys):
    config = load_experiment("bench_sharding.py:quick")
    config.sharding_bench.update({"members": 3, "device_counts": (1, 2), "steps": 1, "batch": 8, "model": "nisq_mlp"})
    result = studies.run(studies.prepare(None, config), str(tmp_path))
    saved = json.loads((tmp_path / "bench_sharding.json").read_text())
    assert saved["rows"] == result["rows"]
    assert [(r["devices"], r["lanes"], r["backend"]) for r in saved["rows"]] == [(1, 3, "cpu"), (2, 4, "cpu")]
    assert saved["rows"][0]["throughput_vs_first"] == 1.0
    assert all(r["samples_per_second"] > 0 for r in saved["rows"])
    assert "| 2 | 4 |" in capsys.readouterr().out


def test_bench_sharding_config_errors_name_the_field():
    config = load_experiment("bench_sharding.py:quick")
    config.sharding_bench.device_counts = (1, 0)
    with pytest.raises(ConfigError, match=r"--config\.sharding_bench\.device_counts"):
        studies.prepare(None, config)
