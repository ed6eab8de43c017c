"""An interrupted run resumed from its checkpoints ends exactly like an uninterrupted one."""

from __future__ import annotations

import jax
import numpy as np

from ecgq.distill.losses import kd_batch_loss
from ecgq.train import loop, multiseed


def test_resume_after_interruption_matches_uninterrupted(tiny_data, tiny_cfg, tiny_model, tmp_path):
    train, val = tiny_data
    tiny_cfg.epochs = 3
    tiny_cfg.data_order = "per_seed"
    members = [multiseed.Member(0), multiseed.Member(1, 2.0, 0.5, kd=True)]
    train = dict(train, teacher=np.random.default_rng(1).normal(size=(len(train["x"]), 2)).astype(np.float32))
    kwargs = dict(model=tiny_model(), members=members, cfg=tiny_cfg, train=train, val=val, head="softmax",
                  multilabel=False, data_seed=3, loss_fn=kd_batch_loss)
    straight = loop.fit(ckpt_dir=str(tmp_path / "straight"), **kwargs)
    assert straight.resumed_from is None and straight.history["finished"]

    first = loop.fit(ckpt_dir=str(tmp_path / "resumed"), stop_after_epochs=1, **kwargs)
    assert not first.history["finished"] and len(first.history["train_loss"]) == 1
    resumed = loop.fit(ckpt_dir=str(tmp_path / "resumed"), **kwargs)
    assert resumed.resumed_from == 0
    assert resumed.history["train_loss"] == straight.history["train_loss"]
    assert resumed.history["val_metric"] == straight.history["val_metric"]
    assert resumed.history["best_epoch"] == straight.history["best_epoch"]
    for a, b in zip(jax.tree_util.tree_leaves(resumed.best_state), jax.tree_util.tree_leaves(straight.best_state)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))

    # A finished run only re-reports: no training, same result.
    again = loop.fit(ckpt_dir=str(tmp_path / "resumed"), **kwargs)
    assert again.resumed_from == tiny_cfg.epochs - 1
    assert again.history["val_metric"] == straight.history["val_metric"]


def test_early_stopping_selects_best_on_validation(tiny_data, tiny_cfg, tiny_model):
    train, val = tiny_data
    tiny_cfg.epochs = 6
    tiny_cfg.early_stopping_patience = 1
    tiny_cfg.learning_rate = 0.5  # unstable on purpose: validation will stop improving
    result = loop.fit(model=tiny_model(), members=[multiseed.Member(0)], cfg=tiny_cfg, train=train, val=val,
                      head="softmax", multilabel=False, data_seed=0, ckpt_dir=None)
    h = result.history
    best = h["best_epoch"][0]
    scores = [epoch[0] for epoch in h["val_metric"]]
    assert scores[best] == max(scores) == h["best_val"][0]
    assert h["epochs_run"] <= best + 2
