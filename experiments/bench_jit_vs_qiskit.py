"""Study ``bench_quantum``: ecgq's jitted simulator vs PennyLane devices vs Qiskit Aer.

Presets: none = the full grid (qubits 4-10, layers 1 and 3, batch 1-4096, forward and grad);
``:quick`` = 6 qubits, 3 layers, batches 256 and 4096, both modes (< 2 minutes on 2 CPU cores).
Example: python launch.py --config=experiments/bench_jit_vs_qiskit.py:quick --workdir=runs/bq
"""

import ml_collections

from ecgq.quantum.config import bench_config


def get_config(arg=None) -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.study = "bench_quantum"
    config.seed = 0
    config.bench = bench_config()
    if arg == "quick":
        config.bench.qubits = (6,)
        config.bench.layers = (3,)
        config.bench.batches = (256, 4096)
        config.bench.repeats = 3
        config.bench.qiskit_repeats = 1
        config.bench.qiskit_max_parameter_sets = 2048
    elif arg:
        raise ValueError(f"unknown preset {arg!r}; choose 'quick' or none")
    return config
