"""Members and batches on a device mesh (``ecgq.train.sharding``): the same training as on one
device, and checkpoints that resume on another device count. The sharded runs need several
devices, forced on the CPU (``--xla_force_host_platform_device_count``) in a process of their own."""

from __future__ import annotations

import json
import types

import jax
import ml_collections
import numpy as np
import pytest
from sharded_fit import MESHES, fit_kwargs, flat

from ecgq.errors import ConfigError
from ecgq.train import loop, multiseed, sharding
from ecgq.train.config import check_mesh_config, mesh_config


def test_one_device_is_no_mesh_and_sizes_beyond_the_devices_name_the_flag():
    one = jax.devices()[:1]
    assert sharding.make_mesh(mesh_config(), devices=one) is None  # the default: unchanged single-device path
    assert sharding.make_mesh(None) is None
    with pytest.raises(ConfigError, match=r"--config\.mesh\.data=2 exceeds the 1 device"):
        sharding.make_mesh(ml_collections.ConfigDict({"members": 0, "data": 2}), devices=one)
    with pytest.raises(ConfigError, match=r"--config\.mesh\.members=3 x --config\.mesh\.data=1 = 3 devices"):
        sharding.make_mesh(ml_collections.ConfigDict({"members": 3, "data": 1}), devices=one)
    for field, value in (("members", -1), ("data", 0)):
        cfg = mesh_config()
        cfg[field] = value
        with pytest.raises(ConfigError, match=rf"--config\.mesh\.{field} must be"):
            check_mesh_config(cfg, "mesh")


def test_padding_repeats_the_last_member_up_to_the_member_devices():
    mesh = types.SimpleNamespace(shape={"members": 4, "data": 2})  # only its axis sizes are read
    assert [sharding.lanes(n, mesh) for n in (1, 3, 4, 5)] == [4, 4, 4, 8]
    assert sharding.pad_members(["a", "b", "c"], mesh) == ["a", "b", "c", "c"]
    assert sharding.pad_members(["a", "b", "c"], None) == ["a", "b", "c"]
    np.testing.assert_array_equal(sharding.pad_rows(np.array([[1, 2], [3, 4]]), 4), [[1, 2], [3, 4], [3, 4], [3, 4]])


def test_a_mesh_vmaps_the_members():
    assert multiseed.resolve_member_axis("auto", backend="cpu", sharded=True) == "vmap"
    assert multiseed.resolve_member_axis("vmap", sharded=True) == "vmap"
    with pytest.raises(ValueError, match="'loop' cannot be sharded"):
        multiseed.resolve_member_axis("loop", sharded=True)


def test_sharded_fits_match_one_device_and_checkpoints_resume_across_device_counts(tmp_path, forced_devices):
    """In a 4-device process: every mesh of MESHES trains as the one-device vmapped program; a run
    interrupted on 4 devices resumes here on 1, and one interrupted here resumes there on a 2x2 mesh;
    both end as the uninterrupted one-device run (float rounding apart: looped vs vmapped members)."""
    (tmp_path / "out").mkdir()
    loop.fit(ckpt_dir=str(tmp_path / "ckpt_1_device"), stop_after_epochs=1, **fit_kwargs())
    proc = forced_devices(["tests/train/sharded_fit.py", str(tmp_path / "out"), str(tmp_path / "ckpt_1_device")], 4)
    straight = flat(loop.fit(ckpt_dir=None, **fit_kwargs()))  # meanwhile, the reference
    output, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, output[-4000:]
    done = json.loads((tmp_path / "out" / "done.json").read_text())
    assert done == {"first_epochs": 1, "resumed_from": 0}

    unsharded = dict(np.load(tmp_path / "out" / "unsharded.npz"))
    for members, data in MESHES:
        sharded = dict(np.load(tmp_path / "out" / f"mesh_{members}x{data}.npz"))
        assert sharded.keys() == unsharded.keys() and sharded["leaf_0"].shape[0] == 3  # padding dropped
        for key, value in unsharded.items():
            np.testing.assert_allclose(sharded[key], value, rtol=1e-5, atol=1e-5, err_msg=f"{members}x{data} {key}")

    resumed_here = loop.fit(ckpt_dir=str(tmp_path / "out" / "ckpt_4_devices"), **fit_kwargs())
    assert resumed_here.resumed_from == 0
    for name, resumed in (("4 devices -> 1", flat(resumed_here)),
                          ("1 device -> 2x2", dict(np.load(tmp_path / "out" / "resumed_on_2x2.npz")))):
        assert resumed.keys() == straight.keys()
        for key, value in straight.items():
            np.testing.assert_allclose(resumed[key], value, rtol=1e-5, atol=1e-5, err_msg=f"{name} {key}")


def test_two_processes_split_the_members_and_their_checkpoint_resumes_on_one(tmp_path, forced_devices):
    """``jax.distributed`` over localhost, one CPU device per process: the members split over the two
    processes train as on one device, and the checkpoint both wrote (Orbax, each its own shards) is
    read back here by a single process."""
    import socket

    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = str(s.getsockname()[1])
    procs = [forced_devices(["tests/train/two_process_fit.py", port, str(i), str(tmp_path)], 1) for i in (0, 1)]
    straight = flat(loop.fit(ckpt_dir=None, **fit_kwargs()))  # meanwhile, the one-process reference
    for proc in procs:
        output, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, output[-4000:]
    two = dict(np.load(tmp_path / "two_processes.npz"))
    reread = loop.fit(ckpt_dir=str(tmp_path / "ckpt"), **fit_kwargs())
    assert reread.resumed_from == fit_kwargs()["cfg"].epochs - 1  # finished there: only read back here
    for name, result in (("2 processes", two), ("their checkpoint", flat(reread))):
        assert result.keys() == straight.keys()
        for key, value in straight.items():
            np.testing.assert_allclose(result[key], value, rtol=1e-5, atol=1e-5, err_msg=f"{name} {key}")
