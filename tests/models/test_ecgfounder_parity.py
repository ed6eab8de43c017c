"""The Flax Net1D with converted weights reproduces the PyTorch Net1D (released format) to 1e-4."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from ecgq.models import ecgfounder  # noqa: E402
from ecgq.models import ecgfounder_import  # noqa: E402

TOL = 1e-4


def _compare(torch_model, path, n_leads, length, batch, seed):
    x = np.random.default_rng(seed).standard_normal((batch, n_leads, length)).astype(np.float32)
    with torch.no_grad():
        ref_logits, ref_features = (t.numpy() for t in torch_model(torch.from_numpy(x)))
    module, variables = ecgfounder_import.from_torch_checkpoint(path, n_leads=n_leads)
    apply = jax.jit(lambda v, x: module.apply(v, x, return_features=True))
    logits, features = apply(variables, jnp.asarray(x.transpose(0, 2, 1)))
    logit_err = float(np.max(np.abs(np.asarray(logits) - ref_logits)))
    feature_err = float(np.max(np.abs(np.asarray(features) - ref_features)))
    print(f"{n_leads}-lead, T={length}: max |logit diff| {logit_err:.2e} "
          f"(|logits| ~ {np.abs(ref_logits).mean():.3f}), max |feature diff| {feature_err:.2e}")
    assert logits.shape == (batch, 150) and features.shape == (batch, 1024)
    assert logit_err < TOL and feature_err < TOL
    return module, variables, x


def test_12_lead_full_length_parity_with_module_prefix(torch_net1d_12, tmp_path):
    torch_model, path = torch_net1d_12
    module, variables, x = _compare(torch_model, path, n_leads=12, length=5000, batch=2, seed=0)
    # The Orbax round trip keeps every value: later runs need no torch.
    ecgfounder_import.save_converted(variables, module, 12, tmp_path / "orbax")
    module2, restored = ecgfounder_import.load_converted(tmp_path / "orbax")
    assert module2 == module
    jax.tree.map(np.testing.assert_array_equal, variables, restored)


def test_1_lead_parity_odd_length_without_prefix(torch_net1d_1):
    # 1237 is odd at several stages, exercising the right-hand extra sample of "same" padding
    # and the zero-padded shortcut max-pool.
    torch_model, path = torch_net1d_1
    _compare(torch_model, path, n_leads=1, length=1237, batch=2, seed=1)


def test_parameter_count_matches_released_model():
    module = ecgfounder.released_net1d()
    shapes = jax.eval_shape(module.init, jax.random.key(0), jnp.zeros((1, 5000, 12)))
    assert sum(int(np.prod(a.shape)) for a in jax.tree.leaves(shapes)) == 30_752_646
