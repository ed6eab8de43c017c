"""Study ``bench_train_step`` and what it stands on: the ``:quick`` preset writes one record per
(model, implementation, members, mode) with ratios derived from them; the PyTorch mirrors have
ecgq's parameter counts and logits, the torch circuit gives ecgq's ``<Z>``; the engine's looped and
vmapped member axes train members alike; the CPU max-pool is ``nn.max_pool`` value for value and
gradient for gradient. No timed assertions: times are only checked to be positive and finite."""

from __future__ import annotations

import itertools
import json
import math
import os
import sys

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ecgq import studies
from ecgq.errors import ConfigError
from ecgq.models import count_params
from ecgq.models.cnn1d import max_pool_1d
from ecgq.studies import bench_train_step, torch_mirrors
from ecgq.train import multiseed

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
import launch  # the launcher is a script at the repository root

sys.path.pop(0)

needs_torch = pytest.mark.skipif(not torch_mirrors.torch_available(), reason="torch is not installed")


def _quick(**fields):
    config = launch._load_config(os.path.join(ROOT, "experiments", "bench_train_step.py") + ":quick")
    config.train_bench.update(fields)
    return config


def test_quick_preset_writes_one_record_per_combination(tmp_path, capsys, monkeypatch):
    runs, real = {}, bench_train_step.ecgq_call

    def spy(name, model, mode, n_members, *args):
        runs[mode, n_members] = real(name, model, mode, n_members, *args)
        return runs[mode, n_members]

    monkeypatch.setattr(bench_train_step, "ecgq_call", spy)
    config = studies.prepare(None, _quick())
    cfg = config.train_bench
    returned = studies.run(config, str(tmp_path))
    result = json.loads((tmp_path / "bench_train_step.json").read_text())
    assert result == json.loads(json.dumps(returned))
    impls = [i for i in cfg.implementations if i == "ecgq" or torch_mirrors.torch_available()]
    expected = set(itertools.product(cfg.models, impls, cfg.members, cfg.modes))
    got = [(r["model"], r["implementation"], r["members"], r["mode"]) for r in result["records"]]
    assert sorted(got) == sorted(expected)  # each combination exactly once
    for r in result["records"]:
        assert math.isfinite(r["seconds"]) and 0 < r["seconds_min"] <= r["seconds"]
        assert r["seconds_per_member"] == r["seconds"] / r["members"]
        assert r["params"] == result["params"][r["model"]]["ecgq"]
    seconds = {k: r["seconds"] for k, r in zip(got, result["records"])}
    for ratio in result["ratios"]:
        m, n = ratio["model"], ratio["members"]
        if ratio["ratio"] == "vmap/loop":
            i = ratio["implementation"]
            assert ratio["value"] == seconds[m, i, n, "vmap"] / seconds[m, i, n, "loop"]
        else:
            other = ratio["ratio"].split("/")[1]
            assert ratio["value"] == seconds[m, "ecgq", n, ratio["mode"]] / seconds[m, other, n, ratio["mode"]]
    assert {r["ratio"] for r in result["ratios"]} >= {"vmap/loop"}
    assert (result["batch"], result["input_shape"], result["backend"]) == (8, [256, 1], jax.default_backend())
    assert set(result["load_average_1min"]) == {"start", "end"} and result["complete"] is True
    out = capsys.readouterr().out
    counts = result["params"]["cnn1d"]
    assert f"cnn1d: {counts['ecgq']:,} parameters in ecgq" in out
    if torch_mirrors.torch_available():
        assert counts["torch"] == counts["ecgq"] and f"{counts['torch']:,} in the PyTorch mirror" in out
    # The same members from the same init over the same batches: the engine's two member axes
    # train them alike (the timed runs are real training).
    for n in cfg.members:
        vmapped, looped = runs["vmap", n].state, runs["loop", n].state
        assert np.asarray(looped.step).tolist() == [(1 + cfg.warmup + cfg.repeats) * cfg.steps] * n
        for a, b in zip(jax.tree.leaves(looped), jax.tree.leaves(vmapped)):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
        assert not np.allclose(looped.params["head"]["kernel"][0], looped.params["head"]["kernel"][1])


def test_rows_without_a_mirror_are_skipped_with_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(torch_mirrors, "missing", lambda module: "no mirror today")
    monkeypatch.setattr(bench_train_step, "time_runs",
                        lambda call, n_steps, warmup, repeats: {"seconds": 1.0, "seconds_min": 1.0,
                                                               "first_run_seconds": 1.0})
    monkeypatch.setattr(bench_train_step, "ecgq_call", lambda *args: None)
    result = studies.run(studies.prepare(None, _quick(skip=("ecgq:vmap",))), str(tmp_path))
    assert [(r["implementation"], r["mode"]) for r in result["records"]] == [("ecgq", "loop")]
    assert any("torch_eager: skipped, no mirror today" in n for n in result["notes"])
    assert any("ecgq vmap: skipped (train_bench.skip)" in n for n in result["notes"])
    assert "torch" not in result["params"]["cnn1d"]


@pytest.mark.parametrize("field, value, message", [
    ("modes", ("vmapp",), r"train_bench\.modes must be a non-empty subset"),
    ("implementations", ("jax",), r"train_bench\.implementations must be a non-empty subset"),
    ("skip", ("torch:loop",), r"train_bench\.skip"),
    ("members", (0,), r"train_bench\.members must list member counts >= 1"),
    ("batch", 0, r"train_bench\.batch must be >= 1, got 0"),
    ("n_outputs", 1, r"train_bench\.n_outputs must be >= 2"),
    ("torch_threads", -1, r"train_bench\.torch_threads must be >= 0, got -1"),
    ("models", ("ecgfounder",), r"'ecgfounder' is a teacher"),
    ("models", ("cnn9d",), r"Unknown model 'cnn9d' in --config\.train_bench\.models"),
])
def test_bad_fields_are_rejected_by_name(field, value, message):
    with pytest.raises(ConfigError, match=message):
        studies.prepare(None, _quick(**{field: value}))


def test_a_window_a_student_cannot_take_names_the_window():
    with pytest.raises(ConfigError, match=r"train_bench\.window=100.*'ae_vqc'"):
        studies.prepare(None, _quick(models=("ae_vqc",), window=100))


# ----------------------------------------------------------------------------------------------
# The PyTorch mirrors


@needs_torch
@pytest.mark.parametrize("n_qubits, n_layers", [(6, 3), (2, 1)])
def test_torch_circuit_matches_ecgq_circuit(n_qubits, n_layers):
    import torch

    from ecgq.quantum.circuits import CircuitSpec
    from ecgq.quantum.jax_sim import simulate

    rng = np.random.default_rng(n_qubits)
    angles = rng.uniform(-np.pi, np.pi, (16, n_qubits)).astype(np.float32)
    weights = rng.uniform(-np.pi, np.pi, (n_layers, n_qubits, 2)).astype(np.float32)
    spec = CircuitSpec(n_qubits=n_qubits, n_layers=n_layers)
    ours = np.asarray(jax.jit(lambda a, w: simulate(spec, a, w))(angles, weights))
    mirror = torch_mirrors.circuit_expvals(torch.from_numpy(angles), torch.from_numpy(weights)).numpy()
    np.testing.assert_allclose(mirror, ours, atol=2e-6)


@needs_torch
@pytest.mark.parametrize("name", ["cnn1d", "resnet1d", "ae_vqc", "ae_mlp"])
def test_mirror_of_the_registered_student_has_its_parameter_count(name):
    module = bench_train_step.build_student(name, _quick().train_bench)  # 256 x 1 windows
    assert not torch_mirrors.missing(module)
    shapes = jax.eval_shape(module.init, jax.random.key(0), jax.ShapeDtypeStruct((1, 256, 1), jnp.float32))
    assert torch_mirrors.n_params(torch_mirrors.build(module, (256, 1))) == sum(count_params(shapes).values())


def _small(name):
    """A small build of student ``name`` reaching every branch of its mirror (both shortcut kinds,
    SAME padding split unevenly, pooling with and without padding; the circuit on 3 qubits)."""
    from ecgq.models import build_model, model_config
    from ecgq.quantum.config import quantum_config

    cfg, quantum = model_config(name), None
    if name == "cnn1d":
        cfg.update(features=(4, 6), kernel_sizes=(4, 3), pool_size=3, hidden=5)
    elif name == "resnet1d":
        cfg.update(stem_features=4, stage_features=(6, 6), blocks_per_stage=(2, 1), stage_strides=(1, 2))
    else:
        quantum = quantum_config()
        quantum.update(n_qubits=3, n_layers=2)
        cfg.update(window_length=40, encoder_features=(4, 6), readout_hidden=5)
        if name == "ae_mlp" and "pooling" in cfg:
            cfg.pooling = "flatten"  # ae_vqc keeps the registered (global) pooling
    return build_model(name, cfg, 2, quantum)


@needs_torch
@pytest.mark.parametrize("name", ["cnn1d", "resnet1d", "ae_vqc", "ae_mlp"])
def test_mirror_gives_ecgq_logits_and_parameter_count(name):
    import torch

    module = _small(name)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 40, 1)).astype(np.float32)
    # Random values in the shapes init would give (compiling init costs more than the forward).
    shapes = jax.eval_shape(module.init, jax.random.key(0), x[:1])
    variables = jax.tree.map(lambda s: rng.uniform(0.2, 1.0, s.shape).astype(np.float32), shapes)
    ours = np.asarray(jax.jit(module.apply)(variables, x))
    mirror = torch_mirrors.build(module, (40, 1))
    assert torch_mirrors.n_params(mirror) == sum(count_params(variables).values())
    torch_mirrors.load_flax_variables(mirror, variables)
    with torch.no_grad():
        theirs = mirror.eval()(torch.from_numpy(x).transpose(1, 2)).numpy()
    np.testing.assert_allclose(theirs, ours, rtol=1e-4, atol=1e-5)


def test_students_without_a_mirror_say_why():
    from ecgq.models import MODELS

    cfg = _quick().train_bench
    for name in [s.name for s in MODELS.entries() if s.role == "student"]:
        module = bench_train_step.build_student(name, cfg)
        mirrored = type(module).__name__ in torch_mirrors.MIRRORED and torch_mirrors.torch_available()
        assert bool(torch_mirrors.missing(module)) != mirrored, name


# ----------------------------------------------------------------------------------------------
# What the speed-up changed


@pytest.mark.parametrize("window, stride, length", [(4, 4, 18), (3, 2, 15), (2, 2, 16)])
def test_max_pool_1d_is_nn_max_pool_in_value_and_gradient(window, stride, length):
    rng = np.random.default_rng(length)
    x = np.maximum(rng.normal(size=(3, length, 4)), 0).astype(np.float32)  # ReLU zeros: ties
    x[0, :4, 0] = 1.5  # positive ties
    cotangent = rng.normal(size=(3, -(-length // stride), 4)).astype(np.float32)

    @jax.jit
    def both(x, nan_x):
        out = []
        for pool in (lambda v: max_pool_1d(v, window, stride),
                     lambda v: nn.max_pool(v, (window,), strides=(stride,), padding="SAME")):
            value, vjp = jax.vjp(pool, x)
            out.append((value, vjp(cotangent)[0], pool(nan_x)))
        return out

    nan_x = x.copy()
    nan_x[1, 2, 1] = np.nan
    ours, ref = both(x, nan_x)
    for a, b in zip(ours, ref):
        np.testing.assert_array_equal(a, b)


def test_member_axis_loops_on_cpu_only():
    assert multiseed.resolve_member_axis("auto", backend="cpu") == "loop"
    assert multiseed.resolve_member_axis("auto", backend="gpu") == "vmap"
    assert multiseed.resolve_member_axis("vmap", backend="cpu") == "vmap"
    with pytest.raises(ValueError, match="member_axis must be one of"):
        multiseed.resolve_member_axis("scan")
