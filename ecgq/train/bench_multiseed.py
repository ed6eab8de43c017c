"""Benchmark: wall time of N vmapped seeds vs 1 seed of one student (default ae_vqc).

    python -m ecgq.train.bench_multiseed --model=ae_vqc --seeds=8 --steps=40

Both programs are compiled and warmed up first; the timed part is ``--steps`` optimiser steps of
the fused, vmapped train step (the inner loop of every study), on random windows of 256 samples.
Prints one JSON line with the times and the ratio (the goal: <= 2 for 8 ae_vqc seeds).
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np


def time_members(model, n_members: int, x: np.ndarray, y: np.ndarray, steps_n: int, batch: int,
                 repeats: int = 3) -> float:
    from ecgq.train import multiseed, steps
    from ecgq.train.config import train_config

    cfg = train_config()
    members = [multiseed.Member(s, 2.0, 0.5, kd=True) for s in range(n_members)]
    tx = steps.make_optimizer(cfg, steps_n)
    teacher = np.random.default_rng(0).normal(size=(len(x), 2)).astype(np.float32)
    data = {"x": jnp.asarray(x), "y": jnp.asarray(y), "teacher": jnp.asarray(teacher)}
    state = multiseed.make_init_fn(model, tx, data)(multiseed.seed_keys(members))
    run = multiseed.make_multi_step(steps.make_train_step("softmax"), per_member_order=False)
    hparams = multiseed.hparams_of(members)
    rng = np.random.default_rng(1)
    idx = jnp.asarray(rng.integers(0, len(x), (steps_n, batch)).astype(np.int32))
    state, losses = run(state, hparams, idx, data)  # compile + warm-up
    jax.block_until_ready(losses)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        state, losses = run(state, hparams, idx, data)
        jax.block_until_ready(losses)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ae_vqc")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args(argv)

    from ecgq.models import build_model, model_config

    model = build_model(args.model, model_config(args.model), 2)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2048, 256, 1)).astype(np.float32)
    y = rng.integers(0, 2, 2048).astype(np.int32)
    one = time_members(model, 1, x, y, args.steps, args.batch)
    many = time_members(model, args.seeds, x, y, args.steps, args.batch)
    print(json.dumps({
        "model": args.model, "backend": jax.default_backend(), "devices": len(jax.devices()),
        "steps": args.steps, "batch": args.batch, "seconds_1_seed": round(one, 3),
        f"seconds_{args.seeds}_seeds": round(many, 3), "ratio": round(many / one, 2),
    }))


if __name__ == "__main__":
    main()
