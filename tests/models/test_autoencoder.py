"""Reconstruction pre-training (``ecgq.train.pretrain``) of the ae_vqc autoencoder on real MIT-BIH beats."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from ecgq import models
from ecgq.quantum.config import quantum_config
from ecgq.train.config import pretrain_config
from ecgq.train.pretrain import pretrain_autoencoder


def _student():
    """The registered ae_vqc (default encoder) on 256-sample windows, with a small circuit.

    The circuit does not take part in reconstruction; 4 qubits keep its init cheap.
    """
    qcfg = quantum_config()
    qcfg.n_qubits, qcfg.n_layers = 4, 1
    cfg = models.model_config("ae_vqc")
    cfg.window_length = 256
    return models.build_model("ae_vqc", cfg, n_outputs=2, quantum_cfg=qcfg)


def test_pretraining_lowers_the_reconstruction_error_on_mitbih(mitbih_beats, tmp_path):
    x = mitbih_beats
    model = _student()
    cfg = pretrain_config()
    cfg.batch_size = 32  # 4 steps per epoch on the 128 beats

    mse = jax.jit(lambda p, x: jnp.mean(jnp.square(model.apply({"params": p}, x, method="reconstruct") - x)))
    cfg.epochs = 0  # no step: the very initialisation that pre-training starts from
    initial = pretrain_autoencoder(model, [0], x, cfg, data_seed=0, ckpt_dir=None, progress=False)
    cfg.epochs = 5
    trained = pretrain_autoencoder(model, [0], x, cfg, data_seed=0, ckpt_dir=str(tmp_path / "ae"),
                                   progress=False)

    # Only the configured subtrees come back, each leaf stacked over the seeds.
    assert set(trained) == set(cfg.subtrees) == {"encoder", "decoder"}
    assert all(leaf.shape[0] == 1 for leaf in jax.tree.leaves(trained))
    first = lambda tree: jax.tree.map(lambda a: a[0], tree)  # noqa: E731
    before, after = float(mse(first(initial), x)), float(mse(first(trained), x))
    variance = float(np.var(x))
    print(f"reconstruction MSE {before:.3f} -> {after:.3f} (input variance {variance:.3f})")
    assert after < before
    assert after < 0.5 * variance  # well below what predicting the mean (or zeros) would score
    latent = model.apply({"params": first(trained)}, x[:2], method="encode")
    assert latent.shape == (2, 4)  # latent_dim 0 = quantum.n_qubits

    # A rerun with the same ckpt_dir restores the saved result instead of training again (here on
    # other data, which training would have fitted differently).
    restored = pretrain_autoencoder(model, [0], np.zeros_like(x), cfg, data_seed=1,
                                    ckpt_dir=str(tmp_path / "ae"), progress=False)
    jax.tree.map(np.testing.assert_array_equal, restored, trained)
