"""The JIT-vs-Qiskit benchmark on a tiny grid: record schema, parity, extrapolation, outputs."""

from __future__ import annotations

import json

import jax

from ecgq.quantum import bench
from ecgq.quantum.config import bench_config

KEYS = {"qubits", "layers", "batch", "mode", "backend", "seconds", "compile_seconds", "max_abs_dev",
        "extrapolated"}


def _tiny_cfg():
    cfg = bench_config()
    cfg.repeats = 1
    cfg.qiskit_repeats = 1
    cfg.qiskit_max_parameter_sets = 40  # grad of 2 qubits x 1 layer: 1 + 2*4 = 9 sets per row
    cfg.lightning_max_batch = 4
    return cfg


def test_cell_records_agree_and_large_cells_are_extrapolated(tmp_path):
    cfg = _tiny_cfg()
    backends = ["jax", "default.qubit", "lightning.qubit", "qiskit"]
    records = []
    for mode in ("forward", "grad"):
        records += bench.run_cell(cfg, backends, 2, 1, 8, mode, jax.random.key(0))
    assert len(records) == 8
    for r in records:
        assert KEYS == set(vars(r))
        assert r.seconds > 0 and r.compile_seconds >= 0
        assert r.max_abs_dev < 1e-5, r  # float32 runs against the float64 reference
    by = {(r.backend, r.mode): r for r in records}
    assert not by["jax", "grad"].extrapolated and not by["default.qubit", "grad"].extrapolated
    assert by["lightning.qubit", "grad"].extrapolated  # 8 rows > lightning_max_batch = 4
    assert by["qiskit", "grad"].extrapolated  # 8 rows x 9 sets > 40 parameter sets
    assert not by["qiskit", "forward"].extrapolated  # 8 sets fit

    table = bench.write_outputs(records, backends, {"lightning.gpu": "no GPU"}, str(tmp_path), cfg)
    assert "jax vs qiskit" in table and "(extrap.)" in table
    saved = json.loads((tmp_path / "bench.json").read_text())
    assert len(saved) == 8 and KEYS == set(saved[0])
    for name in ("bench.csv", "bench.md", "bench.png"):
        assert (tmp_path / name).stat().st_size > 0
    assert "lightning.gpu: not run (no GPU)" in (tmp_path / "bench.md").read_text()


def test_unavailable_backends_are_skipped_with_a_reason():
    usable, skipped = bench.available_backends(["jax", "lightning.gpu"])
    assert "jax" in usable
    if "lightning.gpu" not in usable:  # CPU machines: the reason names what to install
        assert "lightning.gpu" in skipped and "GPU" in skipped["lightning.gpu"]
