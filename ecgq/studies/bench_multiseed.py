"""Study ``bench_multiseed``: wall time of N vmapped seeds vs 1 seed of one student.

    python launch.py --config=experiments/bench_multiseed.py --workdir=runs/bms

Both programs are compiled and warmed up first; the timed part is ``multiseed_bench.steps``
optimiser steps of the fused, vmapped train step (the inner loop of every study) on random
windows of 256 samples, best of ``multiseed_bench.repeats``. Prints and writes
``bench_multiseed.json`` with the times and their ratio; the goal for 8 ae_vqc seeds is at most 2.
"""

from __future__ import annotations

import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from ecgq.atomic import write_json_atomic
from ecgq.errors import ConfigError
from ecgq.studies.registry import STUDIES, TOP_LEVEL_DOCS, StudySpec

BENCH_DOCS = {
    "multiseed_bench.model": "Model whose vmapped training step is timed (a registered model name).",
    "multiseed_bench.seeds": "Seeds trained together in the vmapped program, timed against one seed.",
    "multiseed_bench.steps": "Optimiser steps per timed run.",
    "multiseed_bench.batch": "Training batch size of the timed steps.",
    "multiseed_bench.repeats": "Timed runs after the warm-up; the fastest is reported.",
}


def time_members(model, n_members: int, x: np.ndarray, y: np.ndarray, steps_n: int, batch: int,
                 repeats: int = 3) -> float:
    """Best wall time of ``steps_n`` vmapped KD train steps of ``n_members`` members (compiled first)."""
    from ecgq.distill.losses import kd_batch_loss
    from ecgq.train import multiseed, steps
    from ecgq.train.config import train_config

    cfg = train_config()
    members = [multiseed.Member(s, 2.0, 0.5, kd=True) for s in range(n_members)]
    tx = steps.make_optimizer(cfg, steps_n)
    teacher = np.random.default_rng(0).normal(size=(len(x), 2)).astype(np.float32)
    data = {"x": jnp.asarray(x), "y": jnp.asarray(y), "teacher": jnp.asarray(teacher)}
    state = multiseed.make_init_fn(model, tx, data)(multiseed.seed_keys(members))
    run = multiseed.make_multi_step(steps.make_train_step("softmax", loss_fn=kd_batch_loss),
                                per_member_order=False)
    hparams = multiseed.hparams_of(members)
    rng = np.random.default_rng(1)
    idx = jnp.asarray(rng.integers(0, len(x), (steps_n, batch)).astype(np.int32))
    return best_seconds(run, state, repeats, hparams, idx, data)


def best_seconds(run, state, repeats: int, *args) -> float:
    """Fastest of ``repeats`` calls of ``run(state, *args) -> (state, losses)``, after one warm-up
    call that compiles (the state is threaded through, as training does; it is donated)."""
    state, losses = run(state, *args)
    jax.block_until_ready(losses)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        state, losses = run(state, *args)
        jax.block_until_ready(losses)
        best = min(best, time.perf_counter() - start)
    return best


def run(config, workdir: str) -> dict:
    """Time ``config.multiseed_bench.seeds`` vmapped seeds against one seed; print and save the ratio."""
    from ecgq.models import create

    cfg = config.multiseed_bench
    model, _ = create(cfg.model, input_shape=(256, 1), n_outputs=2)
    rng = np.random.default_rng(config.seed)
    x = rng.normal(size=(2048, 256, 1)).astype(np.float32)
    y = rng.integers(0, 2, 2048).astype(np.int32)
    one = time_members(model, 1, x, y, cfg.steps, cfg.batch, cfg.repeats)
    many = time_members(model, cfg.seeds, x, y, cfg.steps, cfg.batch, cfg.repeats)
    result = {
        "model": cfg.model, "backend": jax.default_backend(), "devices": len(jax.devices()),
        "steps": cfg.steps, "batch": cfg.batch, "seeds": cfg.seeds, "seconds_1_seed": one,
        "seconds_n_seeds": many, "ratio": many / one,
        # What the vmapped program buys over training the seeds one after another.
        "speedup_vs_sequential": cfg.seeds * one / many,
    }
    write_json_atomic(os.path.join(workdir, "bench_multiseed.json"), result)
    print(f"{cfg.seeds} vmapped seeds of {cfg.model}: {many:.3f} s vs 1 seed: {one:.3f} s for "
          f"{cfg.steps} steps of batch {cfg.batch} -> ratio {many / one:.2f}; "
          f"{cfg.seeds * one / many:.2f}x faster than {cfg.seeds} sequential runs ({jax.default_backend()})")
    return result


def check_timed_student(cfg, where: str, counts) -> None:
    """The checks every timing study shares: ``cfg.model`` is a student, ``cfg.<count>`` >= 1."""
    from ecgq.models import MODELS

    if MODELS.get(cfg.model, f"{where}.model").role != "student":
        raise ConfigError(f"--config.{where}.model={cfg.model!r} is a teacher; time a student "
                          f"({[s.name for s in MODELS.entries() if s.role == 'student']}).")
    for field in counts:
        if int(cfg[field]) < 1:
            raise ConfigError(f"--config.{where}.{field} must be >= 1, got {cfg[field]}.")


def check(config) -> None:
    check_timed_student(config.multiseed_bench, "multiseed_bench", ("seeds", "steps", "batch", "repeats"))


STUDIES.register(StudySpec(
    name="bench_multiseed",
    description="Wall time of N vmapped seeds of one student against 1 seed, and their ratio",
    run=run,
    docs=lambda config: {**TOP_LEVEL_DOCS, **BENCH_DOCS},
    check=check,
))
