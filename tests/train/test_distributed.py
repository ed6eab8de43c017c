"""Multi-host settings (``ecgq.train.distributed``): flags win over environment variables, nothing set
means one process (nothing initialised), and bad values name their flag or variable. The launch of
two real processes is in ``test_sharding.py``."""

from __future__ import annotations

import pytest

from ecgq.errors import UserError
from ecgq.train.distributed import Settings, initialize, settings_from

UNSET = {"coordinator_address": None, "num_processes": None, "process_id": None}


def test_nothing_set_is_a_single_process():
    assert settings_from(UNSET, {}) is None
    assert settings_from(dict(UNSET, coordinator_address=""), {"ECGQ_NUM_PROCESSES": ""}) is None
    initialize(None)  # a no-op: this process keeps its own devices
    import jax

    assert jax.process_count() == 1


def test_flags_win_over_the_environment_which_fills_the_rest():
    env = {"ECGQ_COORDINATOR_ADDRESS": "node0:1234", "ECGQ_NUM_PROCESSES": "4", "ECGQ_PROCESS_ID": "3"}
    assert settings_from(UNSET, env) == Settings("node0:1234", 4, 3)
    assert settings_from(dict(UNSET, process_id=1), env) == Settings("node0:1234", 4, 1)
    assert settings_from(dict(UNSET, coordinator_address="head:99"), env).coordinator_address == "head:99"
    assert settings_from(UNSET, {"JAX_COORDINATOR_ADDRESS": "jaxhost:5"}) == Settings("jaxhost:5", None, None)
    assert settings_from(UNSET, {"JAX_COORDINATOR_ADDRESS": "b:2", "ECGQ_COORDINATOR_ADDRESS": "a:1"}).coordinator_address == "a:1"
    assert settings_from(UNSET, {}, auto=True) == Settings()  # --distributed: JAX detects the cluster


@pytest.mark.parametrize("flags, env, message", [
    ({"num_processes": 0}, {}, r"--num_processes=0: must be >= 1"),
    ({"num_processes": 2, "process_id": 2}, {}, r"--process_id=2: must be in \[0, 2\)"),
    ({}, {"ECGQ_PROCESS_ID": "one"}, r"ECGQ_PROCESS_ID='one' is not an integer"),
    ({}, {"ECGQ_NUM_PROCESSES": "2", "ECGQ_PROCESS_ID": "-1"}, r"ECGQ_PROCESS_ID=-1: must be in \[0, 2\)"),
    ({"coordinator_address": "node0"}, {}, r"--coordinator_address='node0': give host:port"),
])
def test_bad_settings_name_their_source(flags, env, message):
    with pytest.raises(UserError, match=message):
        settings_from(dict(UNSET, **flags), env)
