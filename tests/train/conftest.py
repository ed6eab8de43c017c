"""Tiny Flax models and random data for the training-layer tests (no dependence on ecgq.models)."""

from __future__ import annotations

import flax.linen as nn
import ml_collections
import numpy as np
import pytest

from ecgq.train.config import train_config


class TinyNet(nn.Module):
    """Conv -> BatchNorm -> dropout -> dense: exercises batch_stats, dropout keys and rr inputs."""

    n_outputs: int = 2

    @nn.compact
    def __call__(self, x, rr=None, *, train: bool = False):
        h = nn.Conv(4, (5,), strides=(2,), use_bias=False)(x)  # a bias before BN has a pure-noise gradient that Adam would amplify
        h = nn.BatchNorm(use_running_average=not train)(h)
        h = nn.relu(h).mean(axis=1)
        h = nn.Dropout(0.2, deterministic=not train)(h)
        return nn.Dense(self.n_outputs)(h)


def make_data(n: int, seed: int = 0, time: int = 32):
    """Two separable classes: class 1 windows carry a bump (imbalanced 3:1)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.25).astype(np.int32)
    x = rng.normal(0, 1, (n, time, 1)).astype(np.float32)
    x[y == 1, time // 3: time // 2, 0] += 2.0
    return {"x": x, "y": y}


@pytest.fixture(scope="session")
def tiny_model():
    """Factory of the tiny test network."""
    return TinyNet


@pytest.fixture(scope="session")
def tiny_data():
    return make_data(96, 0), make_data(48, 1)


@pytest.fixture()
def tiny_cfg() -> ml_collections.ConfigDict:
    cfg = train_config()
    cfg.epochs = 4
    cfg.batch_size = 16
    cfg.eval_batch_size = 32
    cfg.learning_rate = 3e-3
    cfg.restart_epochs = 2.0
    cfg.warmup_epochs = 0.5
    cfg.early_stopping_patience = 0
    cfg.steps_per_call = 4
    cfg.progress = False
    return cfg
