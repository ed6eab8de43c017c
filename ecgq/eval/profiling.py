"""Model cost measurements: FLOPs from XLA's cost analysis and wall-clock latency per sample.

Why XLA's cost analysis: it counts what the compiled program actually does (padding, grouped
convolutions, the simulated quantum circuit's matrix products) with no per-layer bookkeeping to
keep in sync with the models. Latency is the median of timed repeats after a compile + warm-up
run, divided by the batch size, so batch 1 shows dispatch overhead and large batches throughput.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np


def _leading_batch(args) -> int:
    """Batch size: leading axis of the first positional argument that is a plain array."""
    for arg in args:
        if isinstance(arg, (jax.Array, np.ndarray)) and arg.ndim >= 1:
            return int(arg.shape[0])
    raise ValueError("count_flops: no array argument to read the batch size from; pass batch_size")


def flops_of(compiled, batch: int) -> float:
    """FLOPs per sample of an AOT-compiled program (``jax.jit(f).lower(...).compile()``)."""
    analysis = compiled.cost_analysis()
    if isinstance(analysis, (list, tuple)):  # older jax returns one dict per device
        analysis = analysis[0] if analysis else {}
    if not analysis or "flops" not in analysis:
        raise RuntimeError("XLA's cost analysis reported no 'flops' for this backend")
    return float(analysis["flops"]) / batch


def count_flops(fn: Callable, *args, batch_size: int | None = None) -> float:
    """FLOPs per sample of ``jax.jit(fn)(*args)`` from XLA's cost analysis of the compiled program.

    ``batch_size`` defaults to the leading axis of the first positional array argument (so
    ``count_flops(apply, variables, x)`` divides by ``x.shape[0]``).
    """
    batch = batch_size if batch_size is not None else _leading_batch(args)
    return flops_of(jax.jit(fn).lower(*args).compile(), batch)


def compile_batches(apply_fn: Callable, variables, input_shape: Sequence[int], batch_sizes: Sequence[int],
                    dtype=jnp.float32) -> dict[int, Callable]:
    """``apply_fn(variables, x)`` compiled once per batch size (AOT), keyed by batch size.

    Why AOT and shared: FLOPs, latency and energy of one model all run the same program; compiling
    it once per shape, instead of once per measurement, saves a full XLA compile of the model each.
    """
    jitted = jax.jit(apply_fn)
    return {int(b): jitted.lower(variables, jnp.zeros((int(b), *input_shape), dtype)).compile()
            for b in dict.fromkeys(int(b) for b in batch_sizes)}


def measure_latency(apply_fn: Callable, variables, input_shape: Sequence[int],
                    batch_sizes: Sequence[int] = (1, 256), *, repeats: int = 10,
                    budget_s: float = 20.0, dtype=jnp.float32, seed: int = 0,
                    compiled: dict[int, Callable] | None = None) -> dict[int, float]:
    """Milliseconds per sample of jitted ``apply_fn(variables, x)`` for each batch size.

    ``input_shape`` excludes the batch axis. After one compile (or the programs in ``compiled``,
    from :func:`compile_batches`) and one warm-up call, up to ``repeats`` timed calls are made
    (fewer if they would exceed ``budget_s`` per batch size, but at least 3) and the median is
    reported.
    """
    compiled = compiled or compile_batches(apply_fn, variables, input_shape, batch_sizes, dtype)
    results = {}
    for batch in batch_sizes:
        run = compiled[int(batch)]
        x = jax.random.normal(jax.random.key(seed), (batch, *input_shape), dtype)
        start = time.perf_counter()
        jax.block_until_ready(run(variables, x))  # warm-up, and a time estimate
        estimate = time.perf_counter() - start
        n = int(min(repeats, max(3, budget_s // max(estimate, 1e-9))))
        times = []
        for _ in range(n):
            start = time.perf_counter()
            jax.block_until_ready(run(variables, x))
            times.append(time.perf_counter() - start)
        results[int(batch)] = 1e3 * statistics.median(times) / batch
    return results


def profile_model(apply: Callable, variables, param_counts: dict[str, int], input_shape: Sequence[int],
                  eval_cfg, log=None) -> dict:
    """Parameters (classical / quantum), FLOPs, latency (CPU, and the accelerator) and energy per sample.

    ``apply(variables, x) -> logits`` is the inference function; ``param_counts`` come from the
    models layer. Unavailable measurements are ``None`` with the reason in ``energy_note``.
    """
    from ecgq.eval import energy

    out: dict = {"params": dict(param_counts), "flops": None, "latency_ms": {}, "energy_mj": None,
                 "energy_note": None}
    if not eval_cfg.profile:
        out["energy_note"] = "profiling disabled (eval.profile=False)"
        return out
    batch_sizes = tuple(int(b) for b in eval_cfg.latency_batch_sizes)
    cpu = jax.devices("cpu")[0]
    with jax.default_device(cpu):
        cpu_vars = jax.device_put(variables, cpu)
        cpu_programs = compile_batches(apply, cpu_vars, input_shape, (1, *batch_sizes))
        try:
            out["flops"] = flops_of(cpu_programs[1], 1)
        except RuntimeError as error:
            if log is not None:
                log.warning("FLOPs unavailable: %s", error)
        out["latency_ms"]["cpu"] = {str(b): v for b, v in measure_latency(
            apply, cpu_vars, input_shape, batch_sizes, budget_s=5.0, compiled=cpu_programs).items()}
    programs = cpu_programs
    if jax.default_backend() != "cpu":
        programs = compile_batches(apply, variables, input_shape, batch_sizes)
        out["latency_ms"][jax.default_backend()] = {str(b): v for b, v in measure_latency(
            apply, variables, input_shape, batch_sizes, budget_s=5.0, compiled=programs).items()}
    if not eval_cfg.energy:
        out["energy_note"] = "energy measurement disabled (eval.energy=False)"
        return out
    batch = max(batch_sizes)
    run = programs[batch]
    xb = jnp.zeros((batch,) + tuple(input_shape), jnp.float32)
    reading = energy.measure_energy(lambda: jax.block_until_ready(run(variables, xb)), batch,
                                    float(eval_cfg.energy_min_seconds))
    out["energy_mj"] = reading.mj_per_sample
    out["energy_note"] = reading.reason or f"{reading.source}, batch {batch}, whole-device counter"
    return out
