"""Energy is a number from a real counter or None with a reason, never a guess.

Every branch is driven deterministically: the backend, NVML (a fake ``pynvml``) and the RAPL
powercap tree are replaced, and each fake counter advances by a known amount per batch, so each
case has one exact expected reading (with ``min_seconds=0`` the measurement is exactly 3 batches
after one warm-up batch).
"""

from __future__ import annotations

import sys
import types

import pytest

from ecgq.eval import energy

BATCH = 4
MJ_PER_BATCH = 50.0
EXPECTED_MJ_PER_SAMPLE = 3 * MJ_PER_BATCH / (3 * BATCH)  # 12.5


def _backend(monkeypatch, name):
    monkeypatch.setattr(energy.jax, "default_backend", lambda: name)


def _fake_pynvml(monkeypatch, init_error=None, counter_error=None):
    """A ``pynvml`` whose total-energy counter (mJ) is ``state["mj"]``; returns that state."""
    state = {"mj": 1000.0, "handles": []}
    module = types.ModuleType("pynvml")

    def init():
        if init_error:
            raise init_error

    def handle(index):
        state["handles"].append(index)
        return f"gpu{index}"

    def total_energy(h):
        if counter_error:
            raise counter_error
        assert h == "gpu0"
        return int(state["mj"])

    module.nvmlInit = init
    module.nvmlDeviceGetHandleByIndex = handle
    module.nvmlDeviceGetTotalEnergyConsumption = total_energy
    monkeypatch.setitem(sys.modules, "pynvml", module)
    return state


def _fake_rapl(monkeypatch, tmp_path, zones=("intel-rapl:0",), start_uj=1_000_000, max_uj=None):
    """A powercap tree under ``tmp_path``; returns a function adding ``mj`` to every zone."""
    paths = []
    for zone in zones:
        (tmp_path / zone).mkdir()
        (tmp_path / zone / "energy_uj").write_text(str(start_uj))
        if max_uj is not None:
            (tmp_path / zone / "max_energy_range_uj").write_text(str(max_uj))
        paths.append(tmp_path / zone / "energy_uj")
    monkeypatch.setattr(energy, "RAPL_ROOT", str(tmp_path))

    def add(mj):
        for path in paths:
            value = int(path.read_text()) + int(mj * 1000)
            path.write_text(str(value % max_uj if max_uj else value))

    return add


def test_nvml_available_gives_the_exact_reading(monkeypatch):
    _backend(monkeypatch, "gpu")
    nvml = _fake_pynvml(monkeypatch)
    reading = energy.measure_energy(lambda: nvml.__setitem__("mj", nvml["mj"] + MJ_PER_BATCH),
                                    batch_size=BATCH, min_seconds=0.0)
    assert reading == energy.EnergyReading(EXPECTED_MJ_PER_SAMPLE, "nvml", None)
    assert nvml["handles"] == [0]  # the device JAX computes on


def test_nvml_not_installed(monkeypatch):
    _backend(monkeypatch, "gpu")
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import raises ImportError
    reading = energy.measure_energy(lambda: pytest.fail("must not run"), batch_size=BATCH, min_seconds=0.0)
    assert reading == energy.EnergyReading(None, None, "pynvml is not installed (pip install nvidia-ml-py)")


@pytest.mark.parametrize("where", ["init", "counter"])
def test_nvml_error_is_the_reason(monkeypatch, where):
    _backend(monkeypatch, "gpu")
    error = RuntimeError("Not Supported")
    _fake_pynvml(monkeypatch, **{f"{where}_error": error})
    reading = energy.measure_energy(lambda: pytest.fail("must not run"), batch_size=BATCH, min_seconds=0.0)
    assert reading == energy.EnergyReading(None, None, "NVML energy counter unavailable: Not Supported")


def test_rapl_available_gives_the_exact_reading(monkeypatch, tmp_path):
    _backend(monkeypatch, "cpu")
    add = _fake_rapl(monkeypatch, tmp_path, zones=("intel-rapl:0", "intel-rapl:1"), max_uj=10**12)
    reading = energy.measure_energy(lambda: add(MJ_PER_BATCH), batch_size=BATCH, min_seconds=0.0)
    # both package domains count: twice the energy of one
    assert reading == energy.EnergyReading(2 * EXPECTED_MJ_PER_SAMPLE, "rapl", None)


def test_rapl_wraparound_is_unwrapped(monkeypatch, tmp_path):
    _backend(monkeypatch, "cpu")
    # 1.90 J + 50 mJ warm-up = 1.95 J; the first measured batch reaches the 2 J range and wraps to 0
    add = _fake_rapl(monkeypatch, tmp_path, start_uj=1_900_000, max_uj=2_000_000)
    reading = energy.measure_energy(lambda: add(MJ_PER_BATCH), batch_size=BATCH, min_seconds=0.0)
    assert reading == energy.EnergyReading(EXPECTED_MJ_PER_SAMPLE, "rapl", None)


def test_rapl_without_domains(monkeypatch, tmp_path):
    _backend(monkeypatch, "cpu")
    monkeypatch.setattr(energy, "RAPL_ROOT", str(tmp_path))
    reading = energy.measure_energy(lambda: pytest.fail("must not run"), batch_size=BATCH, min_seconds=0.0)
    assert reading == energy.EnergyReading(None, None, f"no RAPL package domains under {tmp_path}")


def test_rapl_unreadable(monkeypatch, tmp_path):
    _backend(monkeypatch, "cpu")
    _fake_rapl(monkeypatch, tmp_path)
    monkeypatch.setattr(energy.os, "access", lambda path, mode: False)  # as for non-root users
    reading = energy.measure_energy(lambda: pytest.fail("must not run"), batch_size=BATCH, min_seconds=0.0)
    path = tmp_path / "intel-rapl:0" / "energy_uj"
    assert reading == energy.EnergyReading(None, None, f"{path} is not readable (RAPL usually needs root)")


def test_counter_that_does_not_advance(monkeypatch, tmp_path):
    _backend(monkeypatch, "cpu")
    _fake_rapl(monkeypatch, tmp_path)
    reading = energy.measure_energy(lambda: None, batch_size=BATCH, min_seconds=0.0)
    assert reading == energy.EnergyReading(None, "rapl", "energy counter did not advance during the measurement")


def test_unsupported_backend(monkeypatch):
    _backend(monkeypatch, "tpu")
    reading = energy.measure_energy(lambda: pytest.fail("must not run"), batch_size=BATCH, min_seconds=0.0)
    assert reading == energy.EnergyReading(None, None, "no energy counter supported for backend 'tpu'")


def test_rapl_counter_reads_fake_powercap(monkeypatch, tmp_path):
    zone = tmp_path / "intel-rapl:0"
    zone.mkdir()
    (zone / "energy_uj").write_text("1000000")
    (zone / "max_energy_range_uj").write_text("2000000")
    monkeypatch.setattr(energy, "RAPL_ROOT", str(tmp_path))
    _backend(monkeypatch, "cpu")
    counter, source = energy.energy_counter()
    assert source == "rapl"
    (zone / "energy_uj").write_text("1500000")
    assert counter() == 500.0  # mJ
    (zone / "energy_uj").write_text("100000")  # wrapped around
    assert counter() == 500.0 + 600.0
