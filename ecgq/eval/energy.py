"""Energy per inference sample from hardware counters, or ``None`` with the reason why not.

Sources, in order: NVML's total-energy counter of the GPU the model runs on (when JAX runs on an
NVIDIA GPU and ``pynvml`` is importable), then Intel/AMD RAPL package counters under
``/sys/class/powercap`` (when JAX runs on CPU and the files are readable; often root-only).
Counters measure the whole device, so idle power is included: the figure is an upper bound on
the model's own energy, comparable between models measured the same way.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import time
from collections.abc import Callable

import jax

RAPL_ROOT = "/sys/class/powercap"


@dataclasses.dataclass(frozen=True)
class EnergyReading:
    """``mj_per_sample`` is None when no counter was usable; ``reason`` then says why."""

    mj_per_sample: float | None
    source: str | None
    reason: str | None = None


def _nvml_counter() -> tuple[Callable[[], float] | None, str]:
    try:
        import pynvml
    except ImportError:
        return None, "pynvml is not installed (pip install nvidia-ml-py)"
    try:
        pynvml.nvmlInit()
        index = getattr(jax.devices()[0], "id", 0)
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        pynvml.nvmlDeviceGetTotalEnergyConsumption(handle)
    except Exception as error:  # noqa: BLE001 - NVML raises its own error types
        return None, f"NVML energy counter unavailable: {error}"
    return (lambda: float(pynvml.nvmlDeviceGetTotalEnergyConsumption(handle))), "nvml"


def _rapl_counter() -> tuple[Callable[[], float] | None, str]:
    zones = sorted(glob.glob(os.path.join(RAPL_ROOT, "intel-rapl:[0-9]")))
    zones += sorted(glob.glob(os.path.join(RAPL_ROOT, "amd-rapl:[0-9]")))
    if not zones:
        return None, f"no RAPL package domains under {RAPL_ROOT}"
    files = [os.path.join(z, "energy_uj") for z in zones]
    ranges = []
    for z, f in zip(zones, files):
        if not os.access(f, os.R_OK):
            return None, f"{f} is not readable (RAPL usually needs root)"
        try:
            with open(os.path.join(z, "max_energy_range_uj")) as handle:
                ranges.append(float(handle.read()))
        except OSError:
            ranges.append(float("inf"))

    def read() -> list[float]:
        values = []
        for f in files:
            with open(f) as handle:
                values.append(float(handle.read()))
        return values

    state = {"last": read(), "total_uj": 0.0}

    def counter() -> float:
        now = read()
        for i, (a, b) in enumerate(zip(state["last"], now)):
            state["total_uj"] += b - a if b >= a else b + ranges[i] - a  # counter wrap-around
        state["last"] = now
        return state["total_uj"] / 1000.0

    return counter, "rapl"


def energy_counter() -> tuple[Callable[[], float] | None, str]:
    """``(read_mj, source)`` for the device JAX computes on, or ``(None, reason)``."""
    backend = jax.default_backend()
    if backend == "gpu":
        counter, note = _nvml_counter()
        return (counter, note) if counter else (None, note)
    if backend == "cpu":
        return _rapl_counter()
    return None, f"no energy counter supported for backend {backend!r}"


def measure_energy(run_batch: Callable[[], object], batch_size: int, min_seconds: float = 1.0) -> EnergyReading:
    """Energy per sample of repeated ``run_batch()`` calls (each blocks until done), over at least
    ``min_seconds``: counters update every few ms, so short runs would round to zero."""
    counter, note = energy_counter()
    if counter is None:
        return EnergyReading(None, None, note)
    run_batch()  # warm-up / compile outside the measurement
    start_mj, start = counter(), time.perf_counter()
    calls = 0
    while time.perf_counter() - start < min_seconds or calls < 3:
        run_batch()
        calls += 1
    used = counter() - start_mj
    if used <= 0:
        return EnergyReading(None, note, "energy counter did not advance during the measurement")
    return EnergyReading(used / (calls * batch_size), note)
