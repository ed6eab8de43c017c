"""Study ``bench_quantum``: ecgq's jitted simulator vs PennyLane devices vs Qiskit Aer.

Presets: none = the full grid (qubits 4-12, layers 1 and 3, batch 1-4096, forward and grad);
``:quick`` = 6 qubits, 3 layers, batches 256 and 4096, both modes (< 2 minutes on 2 CPU cores);
``:large`` = the 8-12 qubit rows at batch 4096 (layers 1 and 3, forward and grad), where the
simulator's few-pass path matters (issue 14: jax >= 5x default.qubit at 8 and 10 qubits).
Example: python launch.py --config=experiments/bench_jit_vs_qiskit.py:large --workdir=runs/bq
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
    elif arg == "large":
        config.bench.qubits = (8, 10, 12)
        config.bench.batches = (4096,)
        config.bench.repeats = 3
        config.bench.qiskit_repeats = 1
        config.bench.qiskit_max_parameter_sets = 2048
        config.bench.lightning_max_batch = 8
    elif arg:
        raise ValueError(f"unknown preset {arg!r}; choose 'quick', 'large' or none")
    return config
