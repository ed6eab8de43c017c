"""Study ``bench_multiseed``: N vmapped seeds of a student against one seed, in one run.

Default: 8 seeds of ae_vqc (goal: at most 2x the wall time of 1 seed). Presets: ``:quick``.
Example: python launch.py --config=experiments/bench_multiseed.py --workdir=runs/bms
"""

import ml_collections


def get_config(arg=None) -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.study = "bench_multiseed"
    config.seed = 0
    config.multiseed_bench = ml_collections.ConfigDict(
        {"model": "ae_vqc", "seeds": 8, "steps": 40, "batch": 128, "repeats": 3})
    if arg == "quick":
        config.multiseed_bench.steps = 5
        config.multiseed_bench.repeats = 1
    elif arg:
        raise ValueError(f"unknown preset {arg!r}; choose 'quick' or none")
    return config
