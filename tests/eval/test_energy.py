"""Energy is a number from a real counter or None with a reason, never a guess."""

from __future__ import annotations

from ecgq.eval import energy


def test_energy_reading_is_number_or_reason(monkeypatch, tmp_path):
    reading = energy.measure_energy(lambda: None, batch_size=4, min_seconds=0.01)
    if reading.mj_per_sample is None:
        assert reading.reason
    else:
        assert reading.mj_per_sample > 0 and reading.source in ("nvml", "rapl")
    monkeypatch.setattr(energy, "RAPL_ROOT", str(tmp_path))
    monkeypatch.setattr(energy.jax, "default_backend", lambda: "cpu")
    none = energy.measure_energy(lambda: None, batch_size=4, min_seconds=0.01)
    assert none.mj_per_sample is None and "RAPL" in none.reason


def test_rapl_counter_reads_fake_powercap(monkeypatch, tmp_path):
    zone = tmp_path / "intel-rapl:0"
    zone.mkdir()
    (zone / "energy_uj").write_text("1000000")
    (zone / "max_energy_range_uj").write_text("2000000")
    monkeypatch.setattr(energy, "RAPL_ROOT", str(tmp_path))
    monkeypatch.setattr(energy.jax, "default_backend", lambda: "cpu")
    counter, source = energy.energy_counter()
    assert source == "rapl"
    (zone / "energy_uj").write_text("1500000")
    assert counter() == 500.0  # mJ
    (zone / "energy_uj").write_text("100000")  # wrapped around
    assert counter() == 500.0 + 600.0
