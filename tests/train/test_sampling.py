"""Epoch sampling: every sample, or the majority class cut to the next largest class, a new slice
of it each epoch, so that all samples are still visited."""

from __future__ import annotations

import numpy as np
import pytest

from ecgq.errors import ConfigError
from ecgq.train import loop, sampling, steps
from ecgq.train.config import check_train_config


def _labels():
    return np.array([0] * 50 + [1] * 12 + [2] * 5)


def test_all_is_a_permutation_of_every_sample():
    y = _labels()
    groups = sampling.class_groups(y, "all", False)
    assert groups is None and sampling.epoch_size(len(y), groups) == len(y)
    np.testing.assert_array_equal(np.sort(sampling.epoch_samples(3, 0, len(y), groups)), np.arange(len(y)))


def test_undersample_keeps_minorities_and_visits_every_majority_sample_over_epochs():
    y = _labels()
    groups = sampling.class_groups(y, "undersample", False)
    assert sampling.epoch_size(len(y), groups) == 12 + 12 + 5
    np.testing.assert_array_equal(sampling.epoch_class_counts(groups, y, 3), [12, 12, 5])
    seen = set()
    for epoch in range(5):  # ceil(50 / 12) epochs cover the majority class
        ids = sampling.epoch_samples(7, epoch, len(y), groups)
        assert len(ids) == len(set(ids)) == 29
        np.testing.assert_array_equal(np.bincount(y[ids], minlength=3), [12, 12, 5])
        seen |= set(ids.tolist())
    assert seen == set(range(len(y)))
    # A pure function of (seed, epoch): a resumed run draws the same batches; another seed does not.
    np.testing.assert_array_equal(sampling.epoch_samples(7, 2, len(y), groups),
                                  sampling.epoch_samples(7, 2, len(y), groups))
    assert not np.array_equal(sampling.epoch_samples(7, 2, len(y), groups),
                              sampling.epoch_samples(8, 2, len(y), groups))


def test_balanced_weights_follow_the_epoch_counts():
    y = _labels()
    groups = sampling.class_groups(y, "undersample", False)
    counts = sampling.epoch_class_counts(groups, y, 3)
    w = steps.class_weights_from_labels(y, 3, "balanced", False, counts=counts)
    np.testing.assert_allclose(w * counts, [29 / 3] * 3, rtol=1e-6)  # every class weighs the same per epoch


def test_undersampled_fit_takes_fewer_steps_and_learns(tiny_data, tiny_cfg, tiny_model):
    train, val = tiny_data
    from ecgq.train.multiseed import Member

    tiny_cfg.epoch_sampling = "undersample"
    tiny_cfg.epochs, tiny_cfg.learning_rate = 12, 1e-2
    result = loop.fit(model=tiny_model(), members=[Member(0)],
                      cfg=tiny_cfg, train=train, val=val, head="softmax", multilabel=False,
                      data_seed=0, ckpt_dir=None)
    n_minority = int(np.sum(train["y"] == 1))
    assert result.history["epochs_run"] == tiny_cfg.epochs
    assert max(result.history["best_val"]) > 0.6
    assert sampling.epoch_size(len(train["y"]), sampling.class_groups(train["y"], "undersample", False)) == 2 * n_minority


def test_bad_sampling_is_named():
    from ecgq.train.config import train_config

    cfg = train_config()
    cfg.epoch_sampling = "oversample"
    with pytest.raises(ConfigError, match="epoch_sampling"):
        check_train_config(cfg, "students.cnn1d.train")
    with pytest.raises(ValueError, match="single-label"):
        sampling.class_groups(np.eye(3), "undersample", True)
