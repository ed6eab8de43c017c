"""Study ``bench_sharding``: training throughput of one member grid against the number of devices.

    python launch.py --config=experiments/bench_sharding.py --workdir=runs/bsh

For each device count, a fresh process (the device count of the CPU platform is fixed when JAX
starts: ``--xla_force_host_platform_device_count``) trains ``sharding_bench.members`` members of a
student with the members split over that many devices (``config.mesh`` with ``members`` = the
count, ``data`` = 1; one device = no mesh), all vmapped. The steps are compiled and warmed up
first; the timed part is ``sharding_bench.steps`` optimiser steps (the inner loop of every study),
best of ``sharding_bench.repeats``. Prints a table and writes ``bench_sharding.json`` with the
samples per second (members x batch x steps / s) and the ratio to one device, all measured in this
one run.

``sharding_bench.platform = "cpu"`` forces host devices: on a machine with fewer cores than devices
they share the cores, so the table shows the cost of splitting, not a speed-up. ``""`` uses the
default backend (the GPUs of a GPU machine), whose device count must cover the largest count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np

from ecgq.atomic import write_json_atomic
from ecgq.errors import ConfigError
from ecgq.studies.registry import STUDIES, TOP_LEVEL_DOCS, StudySpec

BENCH_DOCS = {
    "sharding_bench.model": "Student whose vmapped training step is timed (a registered student).",
    "sharding_bench.members": "Members (seeds) trained together; padded to a multiple of each device count.",
    "sharding_bench.device_counts": "Device counts to time, each in its own process; 1 = no mesh.",
    "sharding_bench.steps": "Optimiser steps per timed run.",
    "sharding_bench.batch": "Training batch size of each member.",
    "sharding_bench.repeats": "Timed runs after the warm-up; the fastest is reported.",
    "sharding_bench.platform": "'cpu': forced host devices (XLA_FLAGS); '': the default backend's own devices (GPUs).",
}
RESULT_TAG = "BENCH_SHARDING_RESULT "


def time_devices(model_name: str, n_devices: int, n_members: int, steps_n: int, batch: int, repeats: int,
                 seed: int) -> dict:
    """Best wall time of ``steps_n`` KD train steps of ``n_members`` members split over the first
    ``n_devices`` devices of this process (compiled and warmed up first)."""
    import jax
    import jax.numpy as jnp
    import ml_collections

    from ecgq.distill.losses import kd_batch_loss
    from ecgq.models import create
    from ecgq.studies.bench_multiseed import best_seconds
    from ecgq.train import multiseed, sharding, steps
    from ecgq.train.config import train_config

    mesh = sharding.make_mesh(ml_collections.ConfigDict({"members": n_devices, "data": 1}), where="sharding_bench")
    model, _ = create(model_name, input_shape=(256, 1), n_outputs=2)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2048, 256, 1)).astype(np.float32)
    data = {"x": x, "y": rng.integers(0, 2, 2048).astype(np.int32),
            "teacher": rng.normal(size=(2048, 2)).astype(np.float32)}
    members = sharding.pad_members([multiseed.Member(s, 2.0, 0.5, kd=True) for s in range(n_members)], mesh)
    tx = steps.make_optimizer(train_config(), steps_n)
    state = multiseed.make_init_fn(model, tx, data)(multiseed.seed_keys(members))
    hparams = multiseed.hparams_of(members)
    idx = rng.integers(0, len(x), (steps_n, batch)).astype(np.int32)
    if mesh is None:
        data, idx = {k: jnp.asarray(v) for k, v in data.items()}, jnp.asarray(idx)
    else:
        state = sharding.spread_members(state, len(members), mesh)
        hparams = sharding.put(hparams, sharding.member_sharding(mesh))
        data, idx = (sharding.put(t, sharding.replicated(mesh)) for t in (data, idx))
    run = multiseed.make_multi_step(steps.make_train_step("softmax", loss_fn=kd_batch_loss),
                                    per_member_order=False, member_axis="vmap", mesh=mesh)
    best = best_seconds(run, state, repeats, hparams, idx, data)
    return {"devices": n_devices, "lanes": len(members), "seconds": best, "backend": jax.default_backend(),
            "device_kind": jax.devices()[0].device_kind, "samples_per_second": n_members * batch * steps_n / best,
            "steps_per_second": steps_n / best}


def _measure_in_process(cfg, n_devices: int, seed: int) -> dict:
    """:func:`time_devices` in a new Python process that sees ``n_devices`` forced CPU devices (or the
    default backend's devices when ``cfg.platform`` is '')."""
    import ecgq

    env = dict(os.environ)  # the child imports this very ecgq (a checkout may shadow an installed one)
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(os.path.abspath(ecgq.__file__))),
                                         env.get("PYTHONPATH", "")])
    if cfg.platform == "cpu":
        env["JAX_PLATFORMS"] = "cpu"
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={n_devices}"
    args = [cfg.model, n_devices, int(cfg.members), int(cfg.steps), int(cfg.batch), int(cfg.repeats), seed]
    code = ("import json, sys; from ecgq.studies.bench_sharding import RESULT_TAG, time_devices; "
            f"print(RESULT_TAG + json.dumps(time_devices(*{args!r})))")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    lines = [line for line in result.stdout.splitlines() if line.startswith(RESULT_TAG)]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"bench_sharding with {n_devices} device(s) failed:\n{result.stderr[-3000:]}")
    return json.loads(lines[-1][len(RESULT_TAG):])


def run(config, workdir: str) -> dict:
    """Time the member grid on every device count; print and save the throughput table."""
    cfg = config.sharding_bench
    rows = [_measure_in_process(cfg, int(n), int(config.seed)) for n in cfg.device_counts]
    base = next((r for r in rows if r["devices"] == 1), rows[0])
    for row in rows:
        row["throughput_vs_first"] = row["samples_per_second"] / base["samples_per_second"]
    result = {"model": cfg.model, "members": int(cfg.members), "steps": int(cfg.steps), "batch": int(cfg.batch),
              "platform": cfg.platform or rows[0]["backend"], "cpu_cores": os.cpu_count(), "rows": rows}
    write_json_atomic(os.path.join(workdir, "bench_sharding.json"), result)
    print(f"{cfg.members} vmapped members of {cfg.model}, batch {cfg.batch}, {cfg.steps} steps "
          f"({rows[0]['backend']}, {rows[0]['device_kind']}; {os.cpu_count()} CPU cores):")
    print("| devices | lanes | seconds | samples/s | steps/s | vs 1 device |\n| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(f"| {r['devices']} | {r['lanes']} | {r['seconds']:.3f} | {r['samples_per_second']:.0f} | "
              f"{r['steps_per_second']:.2f} | {r['throughput_vs_first']:.2f} |")
    return result


def check(config) -> None:
    from ecgq.studies.bench_multiseed import check_timed_student

    cfg = config.sharding_bench
    check_timed_student(cfg, "sharding_bench", ("members", "steps", "batch", "repeats"))
    if not cfg.device_counts or any(int(n) < 1 for n in cfg.device_counts):
        raise ConfigError(f"--config.sharding_bench.device_counts must be counts >= 1, got {cfg.device_counts}.")
    if cfg.platform not in ("cpu", ""):
        raise ConfigError(f"--config.sharding_bench.platform must be 'cpu' or '', got {cfg.platform!r}.")


STUDIES.register(StudySpec(
    name="bench_sharding",
    description="Training throughput of a member grid split over 1, 2, 4 devices (config.mesh), one process each",
    run=run,
    docs=lambda config: {**TOP_LEVEL_DOCS, **BENCH_DOCS},
    check=check,
))
