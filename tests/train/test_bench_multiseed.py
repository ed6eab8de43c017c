"""The multi-seed benchmark study runs through its config and reports a measured ratio."""

from __future__ import annotations

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_bench_multiseed_writes_times_and_ratio(tmp_path):
    sys.path.insert(0, ROOT)
    import launch

    sys.path.pop(0)
    from ecgq.run import run

    config = launch._load_config(os.path.join(ROOT, "experiments", "bench_multiseed.py") + ":quick")
    config.multiseed_bench.model, config.multiseed_bench.seeds = "cnn1d", 2
    config.multiseed_bench.steps, config.multiseed_bench.batch = 2, 16
    run(config, str(tmp_path))
    result = json.loads((tmp_path / "bench_multiseed.json").read_text())
    assert result["seeds"] == 2 and result["seconds_1_seed"] > 0 and result["seconds_n_seeds"] > 0
    assert result["ratio"] == result["seconds_n_seeds"] / result["seconds_1_seed"]
