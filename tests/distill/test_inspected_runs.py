"""Each run's operation-count energy: the model's own inspection where it has one, else its dense FLOPs."""

from __future__ import annotations

from ecgq.distill.results import inspected
from ecgq.eval.op_energy import energy_estimate


def test_runs_take_the_models_own_counts_or_the_dense_estimate():
    own = {"operations": energy_estimate(100.0, 50.0, "event"), "spike_rate": 0.1, "fusion_gate": [0.4]}
    row = inspected(own, {"flops": 1e6})
    assert row["energy_estimate"]["acs"] == 50.0 and row["spike_rate"] == 0.1
    assert row["inspection"] == {"fusion_gate": [0.4]}
    dense = inspected({}, {"flops": 1e6})
    assert dense["energy_estimate"]["macs"] == 5e5 and dense["spike_rate"] is None and "inspection" not in dense
    assert inspected({}, {"flops": None})["energy_estimate"] is None  # profiling off: no FLOPs, no estimate
