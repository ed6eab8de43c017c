"""``check_train_config`` / ``check_pretrain_config``: defaults pass, bad values name their field."""

from __future__ import annotations

import re

import pytest

from ecgq.configs import leaves
from ecgq.errors import ConfigError, UserError
from ecgq.train.config import (
    FIELD_DOCS,
    PRETRAIN_DOCS,
    check_pretrain_config,
    check_train_config,
    pretrain_config,
    train_config,
)


def test_defaults_pass_and_every_field_is_documented():
    check_train_config(train_config())
    check_pretrain_config(pretrain_config())
    assert sorted(path for path, _ in leaves(train_config())) == sorted(FIELD_DOCS)
    assert sorted(path for path, _ in leaves(pretrain_config())) == sorted(PRETRAIN_DOCS)


@pytest.mark.parametrize("field, value", [
    ("epochs", -1),
    ("epochs", 0),
    ("batch_size", 0),
    ("eval_batch_size", 0),
    ("n_seeds", 0),
    ("learning_rate", 0.0),
    ("weight_decay", -1e-4),
    ("early_stopping_patience", -1),
    ("restart_mult", 0.5),
    ("min_lr_ratio", 1.5),
    ("optimizer", "adamx"),
    ("schedule", "linear"),
    ("selection_metric", "auroc"),
    ("compute_dtype", "float16"),
    ("data_order", "random"),
    ("trainable_regex", "head("),
])
def test_bad_value_is_a_config_error_naming_the_field(field, value):
    cfg = train_config()
    cfg[field] = value
    with pytest.raises(ConfigError, match=re.escape(f"--config.train.{field} ")) as info:
        check_train_config(cfg)
    assert isinstance(info.value, UserError) and isinstance(info.value, ValueError)
    # The field is named under the path the study nests the train config at.
    with pytest.raises(ConfigError, match=re.escape(f"--config.students.cnn1d.train.{field} ")):
        check_train_config(cfg, "students.cnn1d.train")


def test_unknown_optimizer_lists_the_choices_and_a_valid_regex_passes():
    cfg = train_config()
    cfg.optimizer = "adamx"
    with pytest.raises(ConfigError, match=r"must be one of \[.*'adamw'.*\], got 'adamx'"):
        check_train_config(cfg)
    cfg = train_config()
    cfg.trainable_regex = r"^(head|readout)/"
    check_train_config(cfg)
    cfg.trainable_regex = "["
    with pytest.raises(ConfigError, match="is not a regular expression"):
        check_train_config(cfg)


@pytest.mark.parametrize("field, value", [("epochs", -1), ("batch_size", 0), ("learning_rate", -1.0)])
def test_bad_pretrain_value_names_the_field(field, value):
    cfg = pretrain_config()
    cfg[field] = value
    with pytest.raises(ConfigError, match=re.escape(f"--config.students.ae_vqc.pretrain.{field} ")):
        check_pretrain_config(cfg, "students.ae_vqc.pretrain")


def test_pretraining_may_be_switched_off():
    cfg = pretrain_config()
    cfg.epochs = 0
    check_pretrain_config(cfg)
