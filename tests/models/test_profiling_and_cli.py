"""FLOPs and latency helpers, and the ``python -m ecgq.models`` summary."""

from __future__ import annotations

import json

import flax.linen as nn
import jax
import jax.numpy as jnp
import pytest

from ecgq.eval import profiling
from ecgq.models import __main__ as models_cli


def test_count_flops_is_per_sample_and_matches_a_matmul():
    dense = nn.Dense(16, use_bias=False)
    x = jnp.ones((8, 32))
    variables = dense.init(jax.random.key(0), x)
    flops = profiling.count_flops(dense.apply, variables, x)
    assert flops == pytest.approx(2 * 32 * 16, rel=0.05)  # one multiply-add per weight, per sample
    assert profiling.count_flops(dense.apply, variables, x, batch_size=1) == pytest.approx(8 * flops)


def test_measure_latency_reports_ms_per_sample():
    dense = nn.Dense(4)
    variables = dense.init(jax.random.key(0), jnp.ones((1, 8)))
    latency = profiling.measure_latency(dense.apply, variables, (8,), batch_sizes=(1, 16), repeats=3)
    assert set(latency) == {1, 16} and all(v > 0 for v in latency.values())


def test_summary_cli_prints_one_json_object(capsys):
    # In-process (the `python -m ecgq.models` entry point itself runs in test_registry).
    assert models_cli.main(["--model=cnn1d", "--input_shape=128,2", "--n_outputs=3",
                            "--batch_sizes=1,8", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["input_shape"] == [128, 2]
    assert summary["model"] == "cnn1d" and summary["output_shape"] == [1, 3]
    assert summary["classical_params"] > 10_000 and summary["quantum_params"] == 0
    assert summary["flops"] > 0 and set(summary["latency_ms"]) == {"1", "8"}
    assert summary["operations"]["macs"] == summary["flops"] / 2  # the dense energy estimate


def test_summary_cli_gives_a_spiking_model_its_bits_spikes_and_synaptic_operations(capsys):
    assert models_cli.main(["--model=snn", "--input_shape=200,12", "--n_outputs=5", "--batch_sizes=1",
                            "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    precision = summary["precision"]
    assert precision["binary_params"] == 5 * 16 * 32 + 5 * 32 * 64  # the 1-bit stages 1 and 2
    assert precision["total_params"] == summary["classical_params"] < 50_000
    assert precision["bytes"] < precision["fp32_bytes"] / 2  # 1 bit instead of 32 for most weights
    ops, dense = summary["operations"], summary["dense_operations"]
    assert ops["acs"] > 0 and 0 < ops["energy_pj"] < dense["energy_pj"]  # events cost less than dense MACs
    assert 0 < summary["spike_rate"] < 1 and set(summary["spike_rates"]) == {"stages_0", "stages_1", "stages_2"}
    assert "initial weights" in summary["inspection_input"]
