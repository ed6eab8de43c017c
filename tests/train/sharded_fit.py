"""One small training run, sharded or not: shared by ``test_sharding.py`` and the process it starts
with forced CPU devices (``python tests/train/sharded_fit.py OUT_DIR RESUME_DIR``).

A uniquely named module (not conftest), like ``tests/studies/study_helpers.py``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MESHES = ((4, 1), (2, 2), (1, 4))  # (members, data): padding (3 members on 4), both axes, data only


def _tiny():
    """``tests/train/conftest.py`` (its tiny network and data), imported by path under its own name."""
    name = "ecgq_train_test_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, "conftest.py"))
        sys.modules[name] = importlib.util.module_from_spec(spec)  # registered first: flax reads it
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


def fit_kwargs(**cfg_fields) -> dict:
    """Three members (two no-KD seeds and a KD setting, per-member batch order) of the tiny network."""
    from ecgq.distill.losses import kd_batch_loss
    from ecgq.train import multiseed
    from ecgq.train.config import train_config

    tiny = _tiny()
    cfg = train_config()
    cfg.update(dict(epochs=3, batch_size=16, eval_batch_size=32, learning_rate=3e-3, restart_epochs=2.0,
                    warmup_epochs=0.5, early_stopping_patience=0, steps_per_call=4, progress=False,
                    data_order="per_seed"))
    cfg.update(cfg_fields)
    train, val = tiny.make_data(96, 0), tiny.make_data(48, 1)
    train = dict(train, teacher=np.random.default_rng(1).normal(size=(len(train["x"]), 2)).astype(np.float32))
    members = [multiseed.Member(0), multiseed.Member(1), multiseed.Member(2, 2.0, 0.5, kd=True)]
    return dict(model=tiny.TinyNet(), members=members, cfg=cfg, train=train, val=val, head="softmax",
                multilabel=False, data_seed=3, loss_fn=kd_batch_loss)


def mesh_of(members: int, data: int):
    import ml_collections

    from ecgq.train import sharding

    return sharding.make_mesh(ml_collections.ConfigDict({"members": members, "data": data}))


def flat(result) -> dict[str, np.ndarray]:
    """A fit's best states and histories as named arrays (to compare across processes)."""
    import jax

    out = {f"leaf_{i}": np.asarray(a) for i, a in enumerate(jax.tree_util.tree_leaves(result.best_state))}
    for key in ("train_loss", "val_metric", "best_epoch"):
        out[key] = np.asarray(result.history[key], np.float64)
    return out


def main(out_dir: str, resume_dir: str) -> None:
    """With 4 devices: sharded fits on every mesh of :data:`MESHES` and the unsharded (vmapped) fit;
    an interrupted fit on the 4x1 mesh (for the parent to resume on one device); and the parent's
    interrupted one-device fit resumed on the 2x2 mesh."""
    import jax

    from ecgq.train import loop

    assert len(jax.devices()) == 4, jax.devices()
    kwargs = fit_kwargs(member_axis="vmap")
    np.savez(os.path.join(out_dir, "unsharded.npz"), **flat(loop.fit(ckpt_dir=None, **kwargs)))
    for members, data in MESHES:
        result = loop.fit(ckpt_dir=None, mesh=mesh_of(members, data), **kwargs)
        np.savez(os.path.join(out_dir, f"mesh_{members}x{data}.npz"), **flat(result))
    first = loop.fit(ckpt_dir=os.path.join(out_dir, "ckpt_4_devices"), stop_after_epochs=1, mesh=mesh_of(4, 1),
                     **fit_kwargs())
    resumed = loop.fit(ckpt_dir=resume_dir, mesh=mesh_of(2, 2), **fit_kwargs())
    np.savez(os.path.join(out_dir, "resumed_on_2x2.npz"), **flat(resumed))
    with open(os.path.join(out_dir, "done.json"), "w") as handle:
        json.dump({"first_epochs": first.history["epochs_run"], "resumed_from": resumed.resumed_from}, handle)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
