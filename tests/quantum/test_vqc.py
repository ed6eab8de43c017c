"""The Flax VQC module: naming, config round trip and check, jit, vmap over seeds, grad, errors."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from ecgq.configs import leaves
from ecgq.errors import ConfigError
from ecgq.quantum import VQC, vqc_from_config
from ecgq.quantum.config import BENCH_DOCS, FIELD_DOCS, bench_config, check_quantum_config, quantum_config


def test_every_config_field_is_documented_and_read():
    cfg = quantum_config()
    paths = [path for path, _ in leaves(cfg)]
    assert sorted(paths) == sorted(FIELD_DOCS)
    assert sorted(path for path, _ in leaves(bench_config())) == sorted(BENCH_DOCS)
    module = vqc_from_config(cfg)
    for path in paths:
        assert getattr(module, path) == cfg[path] or path == "wires"
    cfg.wires = (0, 2)
    assert vqc_from_config(cfg).wires == (0, 2)


def test_check_quantum_config_names_the_field():
    check_quantum_config(quantum_config())
    for field, value, message in (("backend", "cirq", "--config.q.backend must be one of"),
                                  ("dtype", "float16", "--config.q.dtype must be"),
                                  ("shots", -1, "--config.q.shots must be >= 0"),
                                  ("depolarizing", 1.5, "--config.q.depolarizing is a probability"),
                                  ("n_qubits", 0, "--config.q: ")):
        cfg = quantum_config()
        cfg[field] = value
        with pytest.raises(ConfigError, match=message):
            check_quantum_config(cfg, "q")


def test_parameters_are_named_quantum():
    module = VQC(n_qubits=3, n_layers=2, input_scaling=True)
    variables = module.init(jax.random.key(0), jnp.zeros((2, 3)))
    names = list(variables["params"])
    assert names == ["quantum_weights", "quantum_input_scaling"]
    assert variables["params"]["quantum_weights"].shape == (2, 3, 2)
    np.testing.assert_array_equal(variables["params"]["quantum_input_scaling"], np.ones(3))


def test_init_is_uniform_within_scale():
    module = VQC(n_qubits=6, n_layers=3, init_scale=0.1)
    w = module.init(jax.random.key(0), jnp.zeros((1, 6)))["params"]["quantum_weights"]
    assert float(jnp.abs(w).max()) <= 0.1 and float(jnp.abs(w).max()) > 0.05


def test_jit_vmap_over_seeds_and_grad():
    module = vqc_from_config(quantum_config())
    x = jax.random.uniform(jax.random.key(1), (8, 6), minval=-3, maxval=3)
    seeds = jax.random.split(jax.random.key(0), 4)
    params = jax.vmap(lambda k: module.init(k, x))(seeds)
    assert params["params"]["quantum_weights"].shape == (4, 3, 6, 2)

    @jax.jit
    def loss_and_grad(v):
        return jax.value_and_grad(lambda v: jnp.mean(module.apply(v, x) ** 2))(v)

    losses, grads = jax.vmap(loss_and_grad)(params)
    assert losses.shape == (4,) and bool(jnp.all(jnp.isfinite(losses)))
    g = grads["params"]["quantum_weights"]
    assert g.shape == (4, 3, 6, 2) and float(jnp.abs(g).sum()) > 0
    # Seed 2 of the vmapped program equals the same seed run alone.
    single = module.apply(jax.tree.map(lambda a: a[2], params), x)
    np.testing.assert_allclose(jax.vmap(lambda v: module.apply(v, x))(params)[2], single, atol=1e-6)
    assert single.shape == (8, 6) and single.dtype == jnp.float32


def test_probs_and_selected_wires_output_sizes():
    x = jnp.zeros((2, 4))
    for module, size in ((VQC(4, 1, measurement="probs", wires=(0, 2)), 4),
                         (VQC(4, 1, wires=(3,)), 1)):
        variables = module.init(jax.random.key(0), x)
        assert module.apply(variables, x).shape == (2, size)


def test_bad_backend_and_dtype_are_reported():
    x = jnp.zeros((1, 2))
    with pytest.raises(ValueError, match="unknown quantum backend"):
        VQC(2, 1, backend="cirq").init(jax.random.key(0), x)
    with pytest.raises(ValueError, match="dtype"):
        VQC(2, 1, dtype="float16").init(jax.random.key(0), x)
