"""The ``bench_quantum`` study: ecgq's jitted simulator vs PennyLane devices vs Qiskit Aer."""

from __future__ import annotations

from ecgq.configs import mount
from ecgq.errors import ConfigError
from ecgq.quantum.config import BENCH_DOCS
from ecgq.studies.registry import STUDIES, TOP_LEVEL_DOCS, StudySpec


def check(config) -> None:
    from ecgq.quantum.backends import BACKENDS
    from ecgq.quantum.bench import MODES

    cfg = config.bench
    for field, allowed in (("modes", MODES), ("backends", BACKENDS)):
        bad = [v for v in cfg[field] if v not in allowed]
        if bad:
            raise ConfigError(f"--config.bench.{field} has {bad}; allowed: {list(allowed)}.")
    if cfg.reference not in BACKENDS:
        raise ConfigError(f"--config.bench.reference must be one of {list(BACKENDS)}, got {cfg.reference!r}.")
    for field in ("qubits", "layers", "batches"):
        if not cfg[field] or any(int(v) < 1 for v in cfg[field]):
            raise ConfigError(f"--config.bench.{field} must list values >= 1, got {tuple(cfg[field])}.")


def run(config, workdir: str) -> str:
    from ecgq.quantum.bench import run_grid

    table = run_grid(config.bench, int(config.seed), workdir)
    print(table)
    return table


STUDIES.register(StudySpec(
    name="bench_quantum",
    description="Jitted JAX simulator vs PennyLane default.qubit / lightning vs Qiskit Aer: time, deviation, speed-ups",
    run=run,
    docs=lambda config: {**TOP_LEVEL_DOCS, **mount("bench", BENCH_DOCS)},
    check=check,
))
