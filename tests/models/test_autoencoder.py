"""The convolutional autoencoder learns to reconstruct real MIT-BIH windows."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import wfdb

from ecgq.models.autoencoder import ConvAutoencoder, reconstruction_loss


def mitbih_windows(mitdb_dir, records=("100", "101"), n_per_record=32, length=256):
    """Non-overlapping MLII windows from the start of each record, z-scored per window.

    Read directly with wfdb (the data layer is tested on its own) and by lead name, never position.
    """
    windows = []
    for record in records:
        header = wfdb.rdheader(str(mitdb_dir / record))
        channel = header.sig_name.index("MLII")
        signal = wfdb.rdrecord(str(mitdb_dir / record), channels=[channel],
                               sampto=n_per_record * length).p_signal[:, 0]
        windows.append(signal.reshape(n_per_record, length))
    x = np.concatenate(windows).astype(np.float32)
    x = (x - x.mean(axis=1, keepdims=True)) / (x.std(axis=1, keepdims=True) + 1e-6)
    return x[..., None]


def test_reconstruction_improves_on_mitbih(mitdb_dir):
    x = jnp.asarray(mitbih_windows(mitdb_dir))
    assert x.shape == (64, 256, 1)
    model = ConvAutoencoder(latent_dim=6)
    params = jax.jit(model.init)(jax.random.key(0), x[:1])["params"]
    tx = optax.adam(3e-3)
    opt_state = tx.init(params)

    def loss_fn(p):
        return reconstruction_loss(model.apply({"params": p}, x), x)

    @jax.jit
    def step(p, s):
        loss, grads = jax.value_and_grad(loss_fn)(p)
        updates, s = tx.update(grads, s, p)
        return optax.apply_updates(p, updates), s, loss

    losses = []
    for _ in range(60):
        params, opt_state, loss = step(params, opt_state)
        losses.append(float(loss))
    final = float(jax.jit(loss_fn)(params))
    print(f"reconstruction MSE {losses[0]:.3f} -> {final:.3f}")
    assert final < 0.6 * losses[0]
    assert model.apply({"params": params}, x[:2], method="encode").shape == (2, 6)
