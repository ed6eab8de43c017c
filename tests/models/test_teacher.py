"""Teacher adapter: input adaptation, new heads on pretrained backbones, fine-tuning masks."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ecgq import models
from ecgq.models import teacher


def test_lead_selection_reorders_and_aliases():
    x = np.arange(2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3)
    out = teacher.select_leads(x, ["V1", "MLII", "avl"], ["II", "aVL", "V1"])
    np.testing.assert_array_equal(out, x[..., [1, 2, 0]])
    with pytest.raises(ValueError, match=r"also needs \['I'\]"):
        teacher.select_leads(x, ["V1", "MLII", "aVL"], ["I", "II"])
    filled = teacher.select_leads(x, ["V1", "MLII", "aVL"], ["I", "II"], missing="zeros")
    assert np.all(filled[..., 0] == 0) and np.array_equal(filled[..., 1], x[..., 1])


def test_adapt_inputs_resamples_crops_and_normalises():
    cfg = models.model_config("ecgfounder")
    cfg.n_leads, cfg.lead_order = 1, "II"
    t = np.arange(3600) / 360.0
    x = np.sin(2 * np.pi * 1.2 * t)[None, :, None].astype(np.float32) * 3 + 1  # 10 s at 360 Hz
    out = teacher.adapt_inputs(x, ["MLII"], 360.0, cfg)
    assert out.shape == (1, 5000, 1) and out.dtype == np.float32
    np.testing.assert_allclose([out.mean(), out.std()], [0.0, 1.0], atol=1e-4)
    short = teacher.adapt_inputs(x[:, :720], ["MLII"], 360.0, cfg)  # 2 s: centred zero padding
    assert short.shape == (1, 5000, 1)


def test_crop_or_pad_is_centred():
    x = np.arange(1, 11, dtype=np.float32)[None, :, None]
    np.testing.assert_array_equal(teacher.crop_or_pad(x, 4)[0, :, 0], [4, 5, 6, 7])
    padded = teacher.crop_or_pad(x, 13)[0, :, 0]
    np.testing.assert_array_equal(padded, [0, *range(1, 11), 0, 0])


def _random_params(module, length=256, leads=1, seed=0):
    """Random parameters of ``module`` without compiling its init (cheap on a busy 2-core CI)."""
    shapes = jax.eval_shape(module.init, jax.random.key(0), jnp.zeros((1, length, leads)))
    rng = np.random.default_rng(seed)
    return jax.tree.map(lambda s: jnp.asarray(rng.normal(0, 0.05, s.shape), s.dtype),
                        shapes["params"])


@pytest.mark.parametrize("mode,trained", [
    ("full", {"first_conv", "stage_list_0", "stage_list_5", "stage_list_6", "dense"}),
    ("linear_probe", {"dense"}),
    ("last_k_stages", {"stage_list_5", "stage_list_6", "dense"}),
])
def test_finetune_masks(mode, trained):
    cfg = models.model_config("ecgfounder_small")
    module = models.build_model("ecgfounder_small", cfg, 2)
    params = _random_params(module)
    cfg.finetune, cfg.last_k = mode, 2
    mask = models.trainable_mask("ecgfounder_small", cfg, params)
    for top, sub in mask.items():
        leaves = set(jax.tree.leaves(sub))
        assert leaves == {top in trained or mode == "full"}, (top, leaves)
    # Frozen parameters do not move even under weight decay.
    tx = teacher.masked_optimizer(optax.adamw(1e-2, weight_decay=0.1), mask)
    grads = jax.tree.map(jnp.ones_like, params)
    updates, _ = jax.jit(lambda g, p: tx.update(g, tx.init(p), p))(grads, params)
    moved = {top: any(bool(jnp.any(u != 0)) for u in jax.tree.leaves(sub))
             for top, sub in updates.items()}
    assert {top for top, m in moved.items() if m} == (set(params) if mode == "full" else trained)


def test_new_head_keeps_the_pretrained_backbone(tmp_path):
    cfg = models.model_config("ecgfounder_small")
    pretrained_module = models.build_model("ecgfounder_small", cfg, 150)
    pretrained = _random_params(pretrained_module)
    module = models.build_model("ecgfounder_small", cfg, 2)
    variables = teacher.with_new_head(module, jax.random.key(1), pretrained, n_leads=1)
    assert variables["params"]["dense"]["kernel"].shape == (128, 2)
    backbone = {k: v for k, v in variables["params"].items() if k != "dense"}
    jax.tree.map(np.testing.assert_array_equal, backbone,
                 {k: v for k, v in pretrained.items() if k != "dense"})
    wider = models.model_config("ecgfounder_small")
    wider.filter_list = (16, 32, 32, 64, 64, 128, 256)
    with pytest.raises(ValueError, match="'stage_list_6' does not fit"):
        teacher.with_new_head(models.build_model("ecgfounder_small", wider, 2),
                              jax.random.key(1), pretrained, n_leads=1)


def test_load_teacher_from_released_checkpoint(torch_net1d_1):
    cfg = models.model_config("ecgfounder")
    cfg.checkpoint, cfg.n_leads, cfg.lead_order = str(torch_net1d_1[1]), 1, "II"
    module, variables = teacher.load_teacher(cfg, n_outputs=2, key=jax.random.key(0))
    assert module.n_classes == 2 and variables["params"]["dense"]["kernel"].shape == (1024, 2)
    reference = teacher.load_pretrained(cfg.checkpoint, 1)[1]["params"]["first_conv"]["conv"]["kernel"]
    np.testing.assert_array_equal(variables["params"]["first_conv"]["conv"]["kernel"], reference)
