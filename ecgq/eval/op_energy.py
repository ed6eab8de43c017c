"""Energy per inference estimated from operation counts, the way spiking-network papers compare.

Why an estimate beside the measured one: a hardware counter (NVML, RAPL; :mod:`ecgq.eval.energy`)
measures what a GPU or CPU spends running a model densely, idle power included, and most machines
have none. What a spiking network saves comes from the operations it would *not* perform on
event-driven hardware: a spike reaching a synapse costs one accumulate (AC), where an analog
activation costs a multiply-accumulate (MAC). The usual figures are Horowitz's 45 nm energies for
32-bit floating point: an add 0.9 pJ, a multiply 3.7 pJ, so a MAC 4.6 pJ (:data:`CITATION`).

Every model gets the same estimate: a non-spiking model's MACs are half of XLA's FLOP count of its
compiled inference program (:func:`dense_operations`); a spiking model counts its own ACs and MACs
from its spikes (its ``inspect`` hook). Memory traffic, which often dominates on real chips, is not
counted by either: the figure ranks models by arithmetic, it is not a chip's energy.
"""

from __future__ import annotations

E_AC_PJ = 0.9  # 32-bit floating-point add, 45 nm
E_MAC_PJ = 4.6  # 32-bit floating-point multiply (3.7 pJ) + add (0.9 pJ), 45 nm
CITATION = ("M. Horowitz, \"Computing's energy problem (and what we can do about it)\", IEEE ISSCC 2014, "
            "pp. 10-14: 32-bit float add 0.9 pJ, multiply 3.7 pJ at 45 nm (MAC = 4.6 pJ)")


def energy_estimate(macs: float, acs: float = 0.0, source: str = "") -> dict:
    """``{"macs", "acs", "energy_pj", "energy_mj", "source"}`` per sample for the given counts."""
    if macs < 0 or acs < 0:
        raise ValueError(f"operation counts must be >= 0, got macs={macs}, acs={acs}")
    pj = E_MAC_PJ * float(macs) + E_AC_PJ * float(acs)
    return {"macs": float(macs), "acs": float(acs), "energy_pj": pj, "energy_mj": pj * 1e-9, "source": source}


def dense_operations(flops: float | None) -> dict | None:
    """The estimate of a model run densely: ``flops / 2`` MACs (XLA counts a MAC as two FLOPs)."""
    if flops is None:
        return None
    return energy_estimate(float(flops) / 2.0, 0.0, "dense: XLA FLOPs / 2 as MACs")
