"""The JIT-vs-Qiskit benchmark (run as the study ``bench_quantum``, :mod:`ecgq.studies.bench_quantum`).

For every (qubits, layers, batch, mode) cell and every available backend it measures the
steady-state time (median of repeats, after one warm-up call whose time is reported apart as
``compile_seconds``) of the forward pass ("forward") or forward + gradient of the batch-mean loss
``mean_b sum_o outputs[b, o] * cotangent[b, o]`` with respect to the weights ("grad"), and the
largest absolute deviation of outputs (and gradients) from a float64 reference backend. The loss
is a mean, as in training, so gradients stay O(1) at every batch size and the deviation measures
precision rather than the size of a sum.

Each backend gets its best shot: jitted JAX programs for "jax" and the PennyLane devices
(vmapped backprop on default.qubit, vmapped adjoint with device VJPs on lightning), and for Qiskit one
parameterised circuit with every parameter set (shifts included) in ONE EstimatorV2 call and
parameter-shift gradients, as Qiskit ML does. Qiskit and lightning cells too large to run in
reasonable time are measured on a sub-batch and extrapolated linearly in the batch size (both
evaluate one parameter set or one tape after another, so their cost is linear in it), flagged
``extrapolated``.

Outputs in ``workdir``: bench.json, bench.csv, bench.md (speed-up ratios), bench.png.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import statistics
import time
import warnings
from collections.abc import Callable

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from ecgq.quantum.backends import circuit_function
from ecgq.quantum.circuits import CircuitSpec, weight_shape

MODES = ("forward", "grad")


@dataclasses.dataclass
class Record:
    qubits: int
    layers: int
    batch: int
    mode: str
    backend: str
    seconds: float
    compile_seconds: float
    max_abs_dev: float
    extrapolated: bool


def _block(tree):
    return jax.tree.map(lambda a: a.block_until_ready() if hasattr(a, "block_until_ready") else a,
                        tree)


def time_calls(fn: Callable, repeats: int) -> tuple[float, float, object]:
    """(first-call seconds, median steady-state seconds, last result) of ``fn()``."""
    start = time.perf_counter()
    result = _block(fn())
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = _block(fn())
        times.append(time.perf_counter() - start)
    return first, statistics.median(times), result


def _jax_program(spec: CircuitSpec, backend: str, mode: str, method: str) -> Callable:
    """A jitted ``(x, w, cotangent) -> (outputs, grad or None)`` on a JAX-callable backend."""
    fn = circuit_function(spec, backend, method=method)
    if mode == "forward":
        return jax.jit(lambda x, w, ct: (fn(x, w), None))

    def value_and_grad(x, w, ct):
        def loss(w):
            out = fn(x, w)
            return jnp.sum(out * ct), out
        (_, out), grad = jax.value_and_grad(loss, has_aux=True)(w)
        return out, grad

    return jax.jit(value_and_grad)


def _qiskit_program(spec: CircuitSpec, mode: str, n_features: int) -> Callable:
    from ecgq.quantum import qiskit_backend

    prog = qiskit_backend.program(spec, n_features, "aer")

    def run(x, w, ct):
        if mode == "forward":
            return prog.evaluate_slots(np.asarray(prog.slot_values(x, w))), None
        values, jac = prog.value_and_weight_jacobian(x, w)
        return values, np.einsum("bo,bo...->...", np.asarray(ct, np.float64), jac)

    return run


def _reference(spec: CircuitSpec, backend: str, mode: str, x, w, ct):
    """Outputs and gradient in float64 on the reference backend."""
    with jax.enable_x64(True), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = _jax_program(spec, backend, mode, "auto")
        out, grad = program(jnp.asarray(x, jnp.float64), jnp.asarray(w, jnp.float64),
                            jnp.asarray(ct, jnp.float64))
        return np.asarray(out), None if grad is None else np.asarray(grad)


def _deviation(result, reference) -> float:
    out, grad = result
    ref_out, ref_grad = reference
    dev = float(np.max(np.abs(np.asarray(out, np.float64) - ref_out)))
    if grad is not None and ref_grad is not None:
        dev = max(dev, float(np.max(np.abs(np.asarray(grad, np.float64) - ref_grad))))
    return dev


def available_backends(requested, n_qubits: int = 2) -> tuple[list[str], dict[str, str]]:
    """The requested backends that can run here, and why the others cannot."""
    usable, skipped = [], {}
    for backend in requested:
        try:
            if backend.startswith("lightning") or backend == "default.qubit":
                from ecgq.quantum.pennylane_backend import make_device

                make_device(backend, n_qubits)
            elif backend == "qiskit":
                from ecgq.quantum.qiskit_backend import make_estimator

                make_estimator("aer")
            usable.append(backend)
        except Exception as error:  # reported, never fatal: the benchmark runs what it can
            skipped[backend] = str(error).splitlines()[0]
    return usable, skipped


def _rows_measured(cfg, spec: CircuitSpec, batch: int, mode: str, backend: str) -> int:
    """Rows of the batch a backend actually runs: Qiskit at most ``qiskit_max_parameter_sets``
    parameter sets (shifts included), lightning at most ``lightning_max_batch`` samples."""
    if backend == "qiskit":
        sets_per_row = 1 if mode == "forward" else 1 + 2 * int(np.prod(weight_shape(spec)))
        return max(1, min(batch, cfg.qiskit_max_parameter_sets // sets_per_row))
    if backend.startswith("lightning"):
        return max(1, min(batch, cfg.lightning_max_batch))
    return batch


def run_cell(cfg, backends, qubits: int, layers: int, batch: int, mode: str,
             key: jax.Array) -> list[Record]:
    """Measure every backend on one cell."""
    spec = CircuitSpec(qubits, layers, "angle", "Y", "ryrz_ring", "expval")
    kx, kw, kc = jax.random.split(key, 3)
    dtype = jnp.float64 if cfg.dtype == "float64" else jnp.float32
    x = jax.random.uniform(kx, (batch, qubits), dtype, -math.pi, math.pi)
    w = jax.random.uniform(kw, weight_shape(spec), dtype, -math.pi, math.pi)
    ct = jax.random.normal(kc, (batch, spec.n_outputs), dtype) / batch  # mean loss
    references: dict[int, tuple] = {}
    records = []
    for backend in backends:
        rows = _rows_measured(cfg, spec, batch, mode, backend)
        xs, cts = x[:rows], ct[:rows]
        if backend == "qiskit":
            start = time.perf_counter()
            program = _qiskit_program(spec, mode, qubits)
            setup = time.perf_counter() - start
            repeats = cfg.qiskit_repeats
        else:
            setup = 0.0
            program = _jax_program(spec, backend, mode, cfg.method)
            repeats = cfg.qiskit_repeats if backend.startswith("lightning") else cfg.repeats
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            first, steady, result = time_calls(lambda: program(xs, w, cts), repeats)
        if rows not in references:
            references[rows] = _reference(spec, cfg.reference, mode, xs, w, cts)
        scale = batch / rows
        records.append(Record(qubits, layers, batch, mode, backend, steady * scale,
                              setup + max(first - steady, 0.0), _deviation(result, references[rows]),
                              rows < batch))
    return records


def ratio_rows(records: list[Record]) -> list[dict]:
    """One row per cell: seconds per backend and speed-ups vs Qiskit Aer and default.qubit."""
    cells: dict[tuple, dict[str, Record]] = {}
    for r in records:
        cells.setdefault((r.qubits, r.layers, r.batch, r.mode), {})[r.backend] = r
    rows = []
    for (q, l, b, m), by_backend in cells.items():
        row = {"qubits": q, "layers": l, "batch": b, "mode": m, "backends": by_backend}
        rows.append(row)
    return rows


def _fmt_seconds(r: Record) -> str:
    text = f"{r.seconds * 1e3:.3g} ms" if r.seconds < 1 else f"{r.seconds:.3g} s"
    return text + (" (extrap.)" if r.extrapolated else "")


def _fmt_ratio(ratio: float) -> str:
    return f"{ratio:,.0f}x" if ratio >= 100 else f"{ratio:.3g}x"


def markdown_table(records: list[Record], backends: list[str]) -> str:
    """Seconds per backend, then each backend's speed-up over Qiskit Aer and over default.qubit."""
    header = ["qubits", "layers", "batch", "mode"] + [f"{b} time" for b in backends]
    for base in ("qiskit", "default.qubit"):
        if base in backends:
            header += [f"{b} vs {base}" for b in backends if b != base]
    header.append("max dev")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in ratio_rows(records):
        rec = row["backends"]
        cells = [str(row["qubits"]), str(row["layers"]), str(row["batch"]), row["mode"]]
        cells += [_fmt_seconds(rec[b]) if b in rec else "-" for b in backends]
        for base in ("qiskit", "default.qubit"):
            if base in backends:
                for b in backends:
                    if b == base:
                        continue
                    if b in rec and base in rec:
                        cells.append(_fmt_ratio(rec[base].seconds / rec[b].seconds))
                    else:
                        cells.append("-")
        cells.append(f"{max(r.max_abs_dev for r in rec.values()):.1e}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_outputs(records: list[Record], backends: list[str], skipped: dict[str, str],
                  workdir: str, cfg) -> str:
    """bench.json, bench.csv, bench.md and bench.png; returns the Markdown table."""
    os.makedirs(workdir, exist_ok=True)
    dicts = [dataclasses.asdict(r) for r in records]
    with open(os.path.join(workdir, "bench.json"), "w") as f:
        json.dump(dicts, f, indent=1)
    with open(os.path.join(workdir, "bench.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(dicts[0]) if dicts else ["qubits"])
        writer.writeheader()
        writer.writerows(dicts)
    table = markdown_table(records, backends)
    notes = [f"- {b}: not run ({why})" for b, why in skipped.items()]
    device = jax.devices()[0]
    with open(os.path.join(workdir, "bench.md"), "w") as f:
        f.write("# Quantum backends: steady-state time and speed-ups\n\n")
        f.write(f"Device: {device.platform} ({device.device_kind}); dtype {cfg.dtype}; reference "
                f"{cfg.reference} (float64); times are medians after a warm-up call. Ratios are "
                "how many times faster the first backend is.\n\n")
        f.write(table + "\n")
        if notes:
            f.write("\n" + "\n".join(notes) + "\n")
    plot(records, backends, os.path.join(workdir, "bench.png"))
    return table


def plot(records: list[Record], backends: list[str], path: str) -> None:
    """Seconds vs batch (log-log), one panel per (qubits, layers, mode), one line per backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = sorted({(r.qubits, r.layers, r.mode) for r in records})
    cols = min(4, len(panels)) or 1
    rows = math.ceil(len(panels) / cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3.2 * rows), squeeze=False)
    for ax, (q, l, m) in zip(axes.flat, panels):
        for backend in backends:
            pts = sorted((r.batch, r.seconds, r.extrapolated) for r in records
                         if (r.qubits, r.layers, r.mode, r.backend) == (q, l, m, backend))
            if not pts:
                continue
            batches, secs, extra = zip(*pts)
            line, = ax.plot(batches, secs, marker="o", label=backend)
            ex = [(b, s) for b, s, e in pts if e]
            if ex:
                ax.scatter(*zip(*ex), marker="x", color=line.get_color(), s=60)
        ax.set(xscale="log", yscale="log", title=f"{q} qubits, {l} layers, {m}",
               xlabel="batch", ylabel="seconds")
        ax.grid(True, alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7, title="x = extrapolated", title_fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_grid(cfg: ml_collections.ConfigDict, seed: int, workdir: str) -> str:
    """Run the benchmark grid of ``cfg`` (``bench_config()``-shaped), write its outputs into
    ``workdir`` and return the Markdown table."""
    backends, skipped = available_backends(cfg.backends)
    for backend, why in skipped.items():
        print(f"[bench] skipping {backend}: {why}")
    key = jax.random.key(seed)
    records: list[Record] = []
    for qubits in cfg.qubits:
        for layers in cfg.layers:
            for batch in cfg.batches:
                for mode in cfg.modes:
                    key, sub = jax.random.split(key)
                    cell = run_cell(cfg, backends, qubits, layers, batch, mode, sub)
                    records += cell
                    summary = ", ".join(f"{r.backend} {_fmt_seconds(r)}" for r in cell)
                    print(f"[bench] {qubits}q {layers}L batch {batch} {mode}: {summary}", flush=True)
    table = write_outputs(records, backends, skipped, workdir, cfg)
    return table
