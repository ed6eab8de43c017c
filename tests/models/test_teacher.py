"""Teacher adapter: input adaptation, new heads on pretrained backbones, and fine-tuning depth
(the trainable mask as the optimiser applies it)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from model_helpers import random_params

from ecgq import models
from ecgq.errors import ConfigError
from ecgq.models import teacher
from ecgq.train import steps
from ecgq.train.config import train_config


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
    # What the registry says the teacher will see agrees with what adapt_inputs produces.
    view = models.InputView(3600, ("MLII",), 360.0)
    assert models.sized_input_shape("ecgfounder", cfg, view) == out.shape[1:]
    cfg.n_leads = 2
    with pytest.raises(ConfigError, match="lead_order names 1 leads but teacher.n_leads=2"):
        teacher.adapt_inputs(x, ["MLII"], 360.0, cfg)


def test_crop_or_pad_is_centred():
    x = np.arange(1, 11, dtype=np.float32)[None, :, None]
    np.testing.assert_array_equal(teacher.crop_or_pad(x, 4)[0, :, 0], [4, 5, 6, 7])
    padded = teacher.crop_or_pad(x, 13)[0, :, 0]
    np.testing.assert_array_equal(padded, [0, *range(1, 11), 0, 0])


@pytest.fixture(scope="module")
def small_params():
    cfg = models.model_config("ecgfounder_small")
    return random_params(models.build_model("ecgfounder_small", cfg, 2))


ALL_TOPS = {"first_conv", *(f"stage_list_{i}" for i in range(7)), "dense"}
TRAINED = {"full": ALL_TOPS, "linear_probe": {"dense"},
           "last_k_stages": {"stage_list_5", "stage_list_6", "dense"}}


@pytest.mark.parametrize("mode", sorted(TRAINED))
def test_finetune_masks(small_params, mode):
    cfg = models.model_config("ecgfounder_small")
    cfg.finetune, cfg.last_k = mode, 2
    assert set(small_params) == ALL_TOPS
    mask = models.trainable_mask("ecgfounder_small", cfg, small_params)
    assert jax.tree.structure(mask) == jax.tree.structure(small_params)
    for top, sub in mask.items():
        assert set(jax.tree.leaves(sub)) == {top in TRAINED[mode]}, (mode, top)


def test_finetune_mask_refuses_bad_modes(small_params):
    with pytest.raises(ValueError, match="finetune must be one of"):
        teacher.finetune_mask(small_params, "half")
    with pytest.raises(ValueError, match="last_k=8 but the model has 7 stages"):
        teacher.finetune_mask(small_params, "last_k_stages", last_k=8)
    cfg = models.model_config("ecgfounder_small")
    cfg.finetune = "half"
    with pytest.raises(ConfigError, match=r"--config\.teacher\.finetune must be one of"):
        teacher.check_teacher(cfg, None, "teacher")


def _train_steps(tx, params, n_steps=3, seed=0):
    """``n_steps`` optimiser updates with fixed random, non-zero gradients for every parameter."""
    rng = np.random.default_rng(seed)
    grads = jax.tree.map(lambda p: jnp.asarray(rng.normal(size=p.shape) + 0.5, p.dtype), params)

    @jax.jit
    def step(p, state):
        updates, state = tx.update(grads, state, p)
        return jax.tree.map(jnp.add, p, updates), state

    state = tx.init(params)
    for _ in range(n_steps):
        params, state = step(params, state)
    return params


# 'full' is the control: the very same optimiser and gradients move every parameter, so an
# unchanged parameter under the other modes is the mask's doing.
@pytest.mark.parametrize("mode", ["linear_probe", "last_k_stages", "full"])
def test_frozen_parameters_stay_bit_for_bit_through_the_training_optimiser(small_params, mode):
    model_cfg = models.model_config("ecgfounder_small")
    model_cfg.finetune, model_cfg.last_k = mode, 2
    cfg = train_config()
    cfg.weight_decay = 0.1  # decay alone would move every parameter that the mask lets through
    assert cfg.optimizer == "adamw"

    def trainable(p):
        return models.trainable_mask("ecgfounder_small", model_cfg, p)

    tx = steps.make_optimizer(cfg, 10, trainable_fn=trainable)
    after = _train_steps(tx, small_params)
    mask = trainable(small_params)
    frozen, changed = set(), set()
    for (path, old), new, trains in zip(jax.tree_util.tree_flatten_with_path(small_params)[0],
                                        jax.tree.leaves(after), jax.tree.leaves(mask)):
        name = jax.tree_util.keystr(path)
        if trains:
            assert np.any(np.asarray(new) != np.asarray(old)), f"{name} should have trained"
            changed.add(name.split("'")[1])
        else:
            np.testing.assert_array_equal(np.asarray(new), np.asarray(old), err_msg=name)
            frozen.add(name.split("'")[1])
    assert changed == TRAINED[mode] and frozen == ALL_TOPS - TRAINED[mode]


def test_new_head_keeps_the_pretrained_backbone(small_params):
    cfg = models.model_config("ecgfounder_small")
    pretrained = random_params(models.build_model("ecgfounder_small", cfg, 150), seed=1)
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
    reference = teacher.load_pretrained(cfg.checkpoint, 1)[1]["params"]
    backbone = {k: v for k, v in variables["params"].items() if k != "dense"}
    jax.tree.map(np.testing.assert_array_equal, backbone,
                 {k: v for k, v in reference.items() if k != "dense"})
