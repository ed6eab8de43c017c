"""Fixtures shared by the model tests: released-format ECGFounder checkpoints with random weights.

torch (test extra) is imported inside the fixtures so that the torch-free tests still run
without it.
"""

from __future__ import annotations

import numpy as np
import pytest


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
