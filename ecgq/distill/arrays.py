"""Turning ``Splits`` into the array dicts the training loop takes, and profiling a trained model."""

from __future__ import annotations

import logging

import jax
import jax.numpy as jnp
import numpy as np

from ecgq.errors import ConfigError
from ecgq.eval.profiling import profile_model
from ecgq.models import count_params

log = logging.getLogger(__name__)
SPLITS = ("train", "val", "test")


def split_arrays(split, x: np.ndarray | None = None, use_rr: bool = False) -> dict[str, np.ndarray]:
    """``{"x", "y"[, "rr"]}`` of a split (``x`` replaces the split's inputs, e.g. the teacher's view)."""
    data = {"x": np.asarray(split.x if x is None else x, np.float32), "y": np.asarray(split.y)}
    if use_rr:
        if split.rr is None:
            raise ConfigError("--config.use_rr=True but this dataset provides no RR features; set it to False.")
        data["rr"] = np.asarray(split.rr, np.float32)
    return data


def standardize_rr(data: dict[str, dict[str, np.ndarray]]) -> dict[str, dict[str, np.ndarray]]:
    """Every split's RR features z-scored with the *training* split's mean and standard deviation
    (seconds and ratios differ by orders of magnitude; validation and test statistics never leak in).
    Splits without ``rr`` are returned unchanged."""
    if "rr" not in data["train"]:
        return data
    mean = data["train"]["rr"].mean(axis=0)
    std = np.maximum(data["train"]["rr"].std(axis=0), 1e-6)
    return {s: dict(d, rr=((d["rr"] - mean) / std).astype(np.float32)) for s, d in data.items()}


def seeds_from(base: int, n: int) -> list[int]:
    return [int(base) + i for i in range(int(n))]


def stack(tree, n: int):
    """``tree`` repeated along a new leading member axis of size ``n``."""
    return jax.tree_util.tree_map(lambda a: jnp.broadcast_to(a, (n,) + a.shape), tree)


def profile(model, variables, data: dict[str, np.ndarray], eval_cfg) -> dict:
    """Cost of ``model`` on inputs shaped like ``data`` (RR features fed as zeros when used)."""
    rr_dim = data["rr"].shape[1] if "rr" in data else None
    if rr_dim:
        apply = lambda v, x: model.apply(v, x, jnp.zeros((x.shape[0], rr_dim), x.dtype))  # noqa: E731
    else:
        apply = lambda v, x: model.apply(v, x)  # noqa: E731
    return profile_model(apply, variables, count_params(variables), data["x"].shape[1:], eval_cfg, log)
