"""Reconstruction pre-training of an autoencoder, for N seeds as one vmapped program.

The quantum student reads a handful of latent values, so its encoder is first trained to
reconstruct the training windows (no labels: nothing about the task leaks in), then frozen or
fine-tuned during classification. Each seed pre-trains its own autoencoder from its own init,
so seeds stay independent end to end. The result is saved once (Orbax) and reused on reruns.
"""

from __future__ import annotations

import logging
import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
import orbax.checkpoint as ocp
from tqdm.auto import tqdm

from ecgq.train import steps
from ecgq.train.loop import epoch_order

log = logging.getLogger(__name__)


def pretrain_autoencoder(model, seeds: list[int], x: np.ndarray, cfg: ml_collections.ConfigDict,
                         data_seed: int, ckpt_dir: str | None, progress: bool = True):
    """Stacked (seed-leading) ``{subtree: params}`` after MSE reconstruction training.

    ``model`` must offer ``apply(variables, x, method="reconstruct")``.
    """
    n = len(x)
    batch = min(int(cfg.batch_size), n)
    spe = steps.steps_per_epoch(n, int(cfg.batch_size))
    tx = optax.adamw(optax.cosine_decay_schedule(float(cfg.learning_rate), max(1, int(cfg.epochs) * spe)))
    x0 = jnp.zeros((1,) + x.shape[1:], jnp.float32)

    def init_one(key):
        init_key, _ = jax.random.split(key)  # the same split as classification init
        params = model.init({"params": init_key, "dropout": init_key}, x0, None, train=False)["params"]
        return params, tx.init(params)

    keys = jnp.stack([jax.random.PRNGKey(s) for s in seeds])
    subtrees = tuple(cfg.subtrees)

    def keep(params):
        return {k: params[k] for k in subtrees}

    mgr = None
    if ckpt_dir:
        mgr = ocp.CheckpointManager(os.path.abspath(ckpt_dir), options=ocp.CheckpointManagerOptions(
            max_to_keep=1, create=True, enable_async_checkpointing=False))
        if mgr.latest_step() is not None:
            abstract = jax.eval_shape(lambda k: keep(jax.vmap(init_one)(k)[0]), keys)
            restored = mgr.restore(mgr.latest_step(), args=ocp.args.StandardRestore(abstract))
            mgr.close()
            log.info("autoencoder pre-training restored from %s", ckpt_dir)
            return restored

    params, opt_state = jax.jit(jax.vmap(init_one))(keys)

    def loss_fn(p, xb):
        rec = model.apply({"params": p}, xb, method="reconstruct")
        return jnp.mean((rec - xb) ** 2)

    def member_step(p, o, ids, data):
        loss, grads = jax.value_and_grad(loss_fn)(p, data[ids])
        updates, o = tx.update(grads, o, p)
        return optax.apply_updates(p, updates), o, loss

    # One jitted call per step rather than a lax.scan over the epoch: on XLA:CPU convolutions
    # inside a loop body leave the fast path (see ecgq.train.multiseed.make_multi_step).
    step = jax.jit(jax.vmap(member_step, in_axes=(0, 0, None, None)), donate_argnums=(0, 1))
    data = jnp.asarray(x)
    bar = tqdm(range(int(cfg.epochs)), desc="autoencoder pre-training", disable=not progress, leave=False)
    for epoch in bar:
        for ids in epoch_order(data_seed, epoch, n, spe, batch):
            params, opt_state, losses = step(params, opt_state, ids, data)
        bar.set_postfix(mse=f"{float(np.mean(losses)):.4f}")
    result = keep(params)
    if mgr is not None:
        mgr.save(int(cfg.epochs), args=ocp.args.StandardSave(result), force=True)
        mgr.wait_until_finished()
        mgr.close()
    return result
