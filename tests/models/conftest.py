"""Fixtures shared by the model tests: released-format ECGFounder checkpoints with random weights,
real MIT-BIH beats, and a compilation cache private to these tests.

torch (test extra) is imported inside the fixtures so that the torch-free tests still run
without it.
"""

from __future__ import annotations

import os

import jax
import numpy as np
import pytest

_CACHE_OPTIONS = ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs",
                  "jax_compilation_cache_max_size")


@pytest.fixture(scope="session")
def _jax_cache(tmp_path_factory):
    """(folder, max size) of the compilation cache: shared by the xdist workers of this run when
    filelock is installed (a size limit makes jax lock the folder around every read and write),
    else one folder per worker (unlocked writes must not be shared)."""
    try:
        import filelock  # noqa: F401
    except ImportError:
        return str(tmp_path_factory.mktemp("jax_compilation_cache")), -1
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the run's basetemp, above every worker's own
    return str(base / "jax_compilation_cache"), 4 << 30


@pytest.fixture(scope="module", autouse=True)
def _persistent_compilation_cache(_jax_cache):
    """JAX's persistent compilation cache, on for the modules of tests/models only.

    Many tests here build the same model the same way (``create`` at a model's default shape, an
    init that reconstruction pre-training repeats...), and XLA:CPU spends seconds compiling each
    init; the cache compiles each program once per run. Results are unaffected: the same
    executable runs. The previous settings are restored after each module.
    """
    from jax.experimental.compilation_cache import compilation_cache

    saved = {name: getattr(jax.config, name) for name in _CACHE_OPTIONS}
    folder, max_size = _jax_cache
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_compilation_cache_max_size", max_size)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    compilation_cache.reset_cache()
    yield
    for name, value in saved.items():
        jax.config.update(name, value)
    compilation_cache.reset_cache()


def save_released_format(model, path, prefix: str = "") -> None:
    """Save like ECGFounder's ``save_checkpoint``: state_dict plus numpy values beside it."""
    import torch

    state = {prefix + k: v for k, v in model.state_dict().items()}
    torch.save({"epoch": 3, "step": 10000, "state_dict": state,
                "val_auroc": np.float64(0.9204)}, path)


def _random_torch_net1d(in_channels: int, seed: int):
    torch = pytest.importorskip("torch", reason="torch is part of the test extra")
    import torch_net1d  # tests/models is on sys.path under pytest

    torch.manual_seed(seed)
    model = torch_net1d.released_net1d(in_channels).eval()
    # Default init gives near-zero biases; widen them so every tensor matters in the comparison.
    with torch.no_grad():
        for name, tensor in model.named_parameters():
            if name.endswith("bias"):
                tensor.uniform_(-0.1, 0.1)
    return model


@pytest.fixture(scope="session")
def torch_net1d_12(tmp_path_factory):
    """(torch model, path of its released-format checkpoint with ``module.`` prefixes)."""
    model = _random_torch_net1d(12, seed=0)
    path = tmp_path_factory.mktemp("ckpt12") / "12_lead_ECGFounder.pth"
    save_released_format(model, path, prefix="module.")
    return model, path


@pytest.fixture(scope="session")
def torch_net1d_1(tmp_path_factory):
    """(torch model, path of its released-format checkpoint without prefixes), single lead."""
    model = _random_torch_net1d(1, seed=1)
    path = tmp_path_factory.mktemp("ckpt1") / "1_lead_ECGFounder.pth"
    save_released_format(model, path)
    return model, path


@pytest.fixture(scope="session")
def mitbih_beats(mitdb_dir):
    """128 real MLII beat windows ``(128, 256, 1)`` of MIT-BIH records 100 and 101.

    Read through the data layer's own record loader (band-pass, notch, beat-centred windows,
    per-window z-score), but from two records only so the fixture costs well under a second.
    """
    from ecgq.data import mitbih, preprocess
    from ecgq.data.config import data_config

    cfg = data_config("mitbih")
    beats = []
    for record in ("100", "101"):
        loaded = mitbih.load_record(str(mitdb_dir / record), cfg, ("MLII",))
        assert tuple(loaded["leads"]) == ("MLII",)
        beats.append(loaded["x"][:64])
    x = preprocess.normalize_windows(np.concatenate(beats), cfg.normalize)
    assert x.shape == (128, int(cfg.window_length), 1) and np.all(np.isfinite(x))
    return x
