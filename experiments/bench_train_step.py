"""Study ``bench_train_step``: one training step of every student in ecgq against PyTorch (eager and
torch.compile), members as one vmapped axis against a loop of members, in one run.

Default: every registered student, batch 256 of MIT-BIH-shaped beats (256 samples x 1 lead, binary
head), 1 and 8 members. Presets: ``:quick`` (cnn1d, tiny batch, no torch.compile; seconds).
Example: python launch.py --config=experiments/bench_train_step.py --workdir=runs/bench_train_step
"""

import ml_collections


def get_config(arg=None) -> ml_collections.ConfigDict:
    config = ml_collections.ConfigDict()
    config.study = "bench_train_step"
    config.seed = 0
    config.train_bench = ml_collections.ConfigDict({
        "models": (),
        "implementations": ("ecgq", "torch_eager", "torch_compile"),
        "modes": ("vmap", "loop"),
        "members": (1, 8),
        "skip": ("torch_compile:vmap",),
        "batch": 256,
        "window": 256,
        "leads": 1,
        "n_outputs": 2,
        "steps": 3,
        "warmup": 1,
        "repeats": 5,
        "torch_threads": 0,
    })
    if arg == "quick":
        config.train_bench.update({"models": ("cnn1d",), "implementations": ("ecgq", "torch_eager"),
                                   "members": (2,), "batch": 8, "steps": 1, "warmup": 0, "repeats": 1})
    elif arg:
        raise ValueError(f"unknown preset {arg!r}; choose 'quick' or none")
    return config
