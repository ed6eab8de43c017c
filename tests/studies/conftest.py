"""Fixtures of the study tests."""

from __future__ import annotations

import pytest
from study_helpers import load_experiment, shrink


@pytest.fixture()
def tiny_synthetic():
    """The default study on 256/128/128 synthetic windows, cnn1d only."""
    config = shrink(load_experiment("default.py:quick"), students=("cnn1d",))
    config.eval.plots = False
    return config


@pytest.fixture(scope="session")
def noise_workdir(tmp_path_factory, mitdb_dir):
    """One tiny finished MIT-BIH study of the ``:quick,noise`` preset (without records 118/119): the
    teacher's own 2.5 s view and cnn1d, one seed, one epoch, a few hundred beats.
    Shared by the evaluate and noise-stress tests (trained once per session)."""
    from ecgq import studies

    base = load_experiment("mitbih_binary.py:quick,noise")
    config = shrink(load_experiment("mitbih_binary.py:quick,noise"), students=("cnn1d",),
                    n_seeds=1)
    config.data.data_dir = str(mitdb_dir)
    config.subsample.train, config.subsample.val, config.subsample.test = 300, 200, 200
    config.eval.profile, config.eval.plots = False, False
    # a two-stage teacher (its size is not under test; its compile time is)
    config.teacher.base_filters, config.teacher.filter_list, config.teacher.m_blocks_list = 8, (8, 16), (1, 1)
    config.teacher.groups_width = 8
    config = studies.prepare(base, config)
    workdir = tmp_path_factory.mktemp("mitbih_noise")
    studies.run(config, str(workdir))
    return workdir
