"""Study ``bench_sharding``: throughput of 8 vmapped cnn1d members against the device count (1, 2, 4),
the members split over the devices by ``config.mesh``. Presets: ``:quick``.
Example: python launch.py --config=experiments/bench_sharding.py --workdir=runs/bsh
(forced CPU devices; ``--config.sharding_bench.platform=''`` times the GPUs of a GPU machine.)
"""

import ml_collections


def get_config(arg=None) -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.study = "bench_sharding"
    config.seed = 0
    config.sharding_bench = ml_collections.ConfigDict(
        {"model": "cnn1d", "members": 8, "device_counts": (1, 2, 4), "steps": 20, "batch": 128, "repeats": 3,
         "platform": "cpu"})
    if arg == "quick":
        config.sharding_bench.steps = 3
        config.sharding_bench.repeats = 1
        config.sharding_bench.batch = 32
    elif arg:
        raise ValueError(f"unknown preset {arg!r}; choose 'quick' or none")
    return config
