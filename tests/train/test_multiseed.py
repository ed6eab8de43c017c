"""Vmapped multi-seed training equals the same seeds trained one by one; grids vmap too."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ecgq.distill.losses import kd_batch_loss
from ecgq.train import loop, multiseed, steps
from ecgq.train.objectives import head_kind


def _train_plain(init, step, member, data, order, teacher=None):
    """Reference: one seed, unvmapped, plain jitted train_step in a Python loop."""
    state = jax.tree_util.tree_map(lambda a: a[0], init(multiseed.seed_keys([member])))
    h = {"temperature": jnp.float32(member.temperature), "alpha": jnp.float32(member.alpha if member.kd else 0.0)}
    for ids in order:
        batch = {"x": data["x"][ids], "y": data["y"][ids]}
        if teacher is not None:
            batch["teacher"] = teacher[ids]
        state, _ = step(state, batch, h)
    return state


@pytest.mark.parametrize("member_axis", ["vmap", "loop"])
def test_members_equal_one_by_one(tiny_data, tiny_cfg, tiny_model, member_axis):
    train, _ = tiny_data
    model = tiny_model()
    teacher = np.random.default_rng(3).normal(size=(len(train["x"]), 2)).astype(np.float32)
    data = dict(train, teacher=teacher)
    members = multiseed.member_grid([0, 1], [2.0, 4.0], [0.5], include_no_kd=True)
    assert len(members) == 6
    spe = steps.steps_per_epoch(len(train["x"]), tiny_cfg.batch_size)
    order = loop.epoch_order(7, 0, len(train["x"]), spe, tiny_cfg.batch_size)
    tx = steps.make_optimizer(tiny_cfg, spe)
    state = multiseed.make_init_fn(model, tx, data)(multiseed.seed_keys(members))
    weights = steps.class_weights_from_labels(train["y"], 2, tiny_cfg.class_weighting, False)
    train_step = steps.make_train_step(head_kind(2, False), weights, loss_fn=kd_batch_loss)
    run = multiseed.make_multi_step(train_step, per_member_order=False, member_axis=member_axis)
    state, losses = run(state, multiseed.hparams_of(members), jnp.asarray(order), {k: jnp.asarray(v) for k, v in data.items()})
    assert losses.shape == (6, spe)
    plain_init, plain_step = multiseed.make_init_fn(model, tx, data), jax.jit(train_step)
    for i, member in enumerate(members):
        ref = _train_plain(plain_init, plain_step, member, data, order, teacher)
        got = jax.tree_util.tree_map(lambda a: a[i], state)
        for a, b in zip(jax.tree_util.tree_leaves(got.params), jax.tree_util.tree_leaves(ref.params)):
            np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
        for a, b in zip(jax.tree_util.tree_leaves(got.batch_stats), jax.tree_util.tree_leaves(ref.batch_stats)):
            np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)
    # Seeds differ from each other; the same seed under no-KD and KD starts identically but diverges.
    p = state.params["Dense_0"]["kernel"]
    assert not np.allclose(p[0], p[1])
    assert not np.allclose(p[0], p[2])


def test_per_seed_order_and_fit_match_single_member_fits(tiny_data, tiny_cfg, tiny_model):
    """Through ``loop.fit`` with the CPU's member axis (the loop); ``test_members_equal_one_by_one``
    covers both axes step by step."""
    train, val = tiny_data
    tiny_cfg.data_order = "per_seed"
    tiny_cfg.epochs = 2
    members = [multiseed.Member(0), multiseed.Member(5)]
    both = loop.fit(model=tiny_model(), members=members, cfg=tiny_cfg, train=train, val=val, head="softmax",
                    multilabel=False, data_seed=0, ckpt_dir=None)
    for i, member in enumerate(members):
        alone = loop.fit(model=tiny_model(), members=[member], cfg=tiny_cfg, train=train, val=val,
                         head="softmax", multilabel=False, data_seed=0, ckpt_dir=None)
        np.testing.assert_allclose(both.history["val_metric"][-1][i], alone.history["val_metric"][-1][0], atol=1e-6)
        assert both.history["best_epoch"][i] == alone.history["best_epoch"][0]
        a = jax.tree_util.tree_leaves(jax.tree_util.tree_map(lambda t: t[i], both.best_state.params))
        b = jax.tree_util.tree_leaves(jax.tree_util.tree_map(lambda t: t[0], alone.best_state.params))
        for u, v in zip(a, b):
            np.testing.assert_allclose(u, v, rtol=2e-4, atol=2e-5)


def test_plan_chunks_respects_budget_and_cap():
    # 350 // 100 = 3 members fit: four consecutive chunks of at most 3, covering 0..9 once, in order.
    chunks = multiseed.plan_chunks(10, member_bytes=100, budget_bytes=350)
    assert chunks == [range(0, 3), range(3, 6), range(6, 9), range(9, 10)]
    assert multiseed.plan_chunks(9, member_bytes=100, budget_bytes=350) == [range(0, 3), range(3, 6), range(6, 9)]
    assert multiseed.plan_chunks(3, member_bytes=100, budget_bytes=50) == [range(0, 1), range(1, 2), range(2, 3)]
    assert [list(c) for c in multiseed.plan_chunks(5, 1, 10**9, max_per_chunk=2)] == [[0, 1], [2, 3], [4]]
    assert multiseed.plan_chunks(4, 1, 10**9) == [range(0, 4)]


def test_chunked_fit_equals_unchunked(tiny_data, tiny_cfg, tiny_model):
    train, val = tiny_data
    tiny_cfg.epochs = 2
    train = dict(train, teacher=np.random.default_rng(4).normal(size=(len(train["x"]), 2)).astype(np.float32))
    # Seed 0 without and with KD, and seed 1 with KD: chunks of 2 split the KD pair of seed 0.
    members = [multiseed.Member(0), multiseed.Member(1, 2.0, 0.7, kd=True), multiseed.Member(0, 2.0, 0.7, kd=True)]
    kwargs = dict(model=tiny_model(), members=members, train=train, val=val, head="softmax", multilabel=False,
                  data_seed=0, ckpt_root=None, desc="t", predict_splits={"val": val}, loss_fn=kd_batch_loss,
                  probe=lambda v: {"val0": np.asarray(kwargs["model"].apply(v, val["x"][:4]))})
    _, whole, whole_probes = loop.chunked_fit(cfg=tiny_cfg, **kwargs)
    tiny_cfg.max_members_per_chunk = 2
    assert loop.plan_member_chunks(kwargs["model"], members, tiny_cfg, train, "softmax",
                                   kd_batch_loss) == [range(0, 2), range(2, 3)]
    hist, chunked, probes = loop.chunked_fit(cfg=tiny_cfg, **kwargs)
    assert len(hist) == 3
    np.testing.assert_allclose(whole["val"], chunked["val"], rtol=1e-4, atol=1e-5)
    # The probe sees each member's best variables, in member order, whatever the chunking.
    assert len(probes) == len(whole_probes) == 3
    for i in range(3):
        np.testing.assert_allclose(probes[i]["val0"], chunked["val"][i][:4], rtol=1e-4, atol=1e-5)
    # The KD loss reached the step of every chunk: the same seed with and without the teacher differs.
    assert not np.allclose(chunked["val"][0], chunked["val"][2], atol=1e-4)
