"""bfloat16 compute: classical params and inputs are cast for the forward pass, ``quantum_*`` params
stay float32, and the master params (what the optimiser updates) stay float32."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from ecgq.quantum import VQC
from ecgq.train import steps
from ecgq.train.state import TrainState


class HybridNet(nn.Module):
    """Conv -> BatchNorm -> dense angles -> 2-qubit VQC (with input scaling) -> dense readout."""

    @nn.compact
    def __call__(self, x, rr=None, *, train: bool = False):
        h = nn.Conv(4, (5,), strides=(2,), use_bias=False)(x)
        h = nn.BatchNorm(use_running_average=not train)(h)
        h = nn.Dense(2)(nn.relu(h).mean(axis=1))
        h = VQC(n_qubits=2, n_layers=1, input_scaling=True, name="vqc")(jnp.tanh(h) * jnp.pi)
        return nn.Dense(2, name="readout")(h)


F32, BF16, I32 = np.dtype(jnp.float32), np.dtype(jnp.bfloat16), np.dtype(jnp.int32)


def _dtypes(tree):
    return {jax.tree_util.keystr(path): leaf.dtype for path, leaf in jax.tree_util.tree_leaves_with_path(tree)}


def test_compute_cast_keeps_quantum_params_and_non_floats():
    tree = {
        "params": {
            "Dense_0": {"kernel": jnp.ones((3, 2)), "bias": jnp.full(2, 0.1)},
            "vqc": {"quantum_weights": jnp.full((1, 2, 2), 0.123456789), "quantum_input_scaling": jnp.ones(2)},
        },
        "counter": jnp.arange(3, dtype=jnp.int32),
    }
    cast = steps._compute_cast(tree, jnp.bfloat16)
    assert jax.tree_util.tree_structure(cast) == jax.tree_util.tree_structure(tree)
    got = _dtypes(cast)
    assert got["['params']['Dense_0']['kernel']"] == jnp.bfloat16
    assert got["['params']['Dense_0']['bias']"] == jnp.bfloat16
    assert got["['params']['vqc']['quantum_weights']"] == jnp.float32
    assert got["['params']['vqc']['quantum_input_scaling']"] == jnp.float32
    assert got["['counter']"] == jnp.int32
    # Quantum leaves keep their float32 values exactly; classical ones are rounded to bf16.
    np.testing.assert_array_equal(cast["params"]["vqc"]["quantum_weights"], tree["params"]["vqc"]["quantum_weights"])
    np.testing.assert_array_equal(cast["params"]["Dense_0"]["bias"].astype(jnp.float32),
                                  jnp.full(2, 0.1).astype(jnp.bfloat16).astype(jnp.float32))
    assert float(cast["params"]["Dense_0"]["bias"][0]) != float(jnp.float32(0.1))
    # Casting to float32 changes nothing.
    assert set(_dtypes(steps._compute_cast(tree, jnp.float32)).values()) == {F32, I32}


def test_resolve_compute_dtype(monkeypatch):
    assert steps.resolve_compute_dtype("float32") == jnp.float32
    with pytest.raises(ValueError, match="compute_dtype"):
        steps.resolve_compute_dtype("float16")
    monkeypatch.setattr(jax, "default_backend", lambda: "cpu")
    assert steps.resolve_compute_dtype("bfloat16") == jnp.float32  # emulated on CPU: slower, so f32
    monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
    assert steps.resolve_compute_dtype("bfloat16") == jnp.bfloat16
    assert steps.resolve_compute_dtype("float32") == jnp.float32
    with pytest.raises(ValueError, match="compute_dtype"):
        steps.resolve_compute_dtype("float16")


def _recording_state(seen: list):
    model = HybridNet()
    x = jax.random.normal(jax.random.PRNGKey(0), (16, 32, 1))
    variables = model.init(jax.random.PRNGKey(1), x[:1], None, train=False)

    def apply_fn(variables, x, rr=None, **kwargs):
        seen.append((_dtypes(variables), x.dtype))
        return model.apply(variables, x, rr, **kwargs)

    state = TrainState.from_variables(apply_fn=apply_fn, variables=variables, tx=optax.adam(1e-2),
                                      dropout_key=jax.random.PRNGKey(2))
    batch = {"x": x, "y": (jnp.arange(16) % 2).astype(jnp.int32)}
    return state, batch


def _bf16_steps(monkeypatch):
    """Train and eval steps built as on an accelerator (the dtype is resolved when they are built)."""
    with monkeypatch.context() as patch:
        patch.setattr(jax, "default_backend", lambda: "gpu")
        return steps.make_train_step("softmax", compute_dtype="bfloat16"), steps.make_eval_step("bfloat16")


def test_bf16_train_step_casts_classical_only_and_keeps_f32_masters(monkeypatch):
    seen: list = []
    state, batch = _recording_state(seen)
    train_step, eval_step = _bf16_steps(monkeypatch)
    new, metrics = jax.jit(train_step)(state, batch, {})  # runs on CPU with bf16 arithmetic
    (forward_dtypes, x_dtype), = seen
    assert x_dtype == jnp.bfloat16
    params = {k: v for k, v in forward_dtypes.items() if k.startswith("['params']")}
    quantum = {k: v for k, v in params.items() if "quantum_" in k}
    classical = {k: v for k, v in params.items() if "quantum_" not in k}
    assert set(quantum) == {"['params']['vqc']['quantum_weights']", "['params']['vqc']['quantum_input_scaling']"}
    assert set(quantum.values()) == {F32}
    # Conv kernel, BatchNorm scale and bias, two dense kernels and biases (the dtype the BatchNorm
    # statistics are fed in is left open: see test_running_statistics_converge_to_the_batch_statistics).
    assert len(classical) == 7 and set(classical.values()) == {BF16}

    # The loss is float32 and finite; master params, optimiser state and statistics stay float32.
    assert metrics["loss"].dtype == jnp.float32 and bool(jnp.isfinite(metrics["loss"]))
    for tree in (new.params, new.opt_state, new.batch_stats):
        floats = {v for v in _dtypes(tree).values() if jnp.issubdtype(v, jnp.floating)}
        assert floats == {F32}
    # Every parameter, quantum ones included, received a gradient and moved.
    for path, before in jax.tree_util.tree_leaves_with_path(state.params):
        after = new.params
        for key in path:
            after = after[key.key]
        assert not np.array_equal(before, after), jax.tree_util.keystr(path)

    # The arithmetic really was bf16: the loss differs from the float32 step's, but only by rounding.
    f32_loss = float(jax.jit(steps.make_train_step("softmax"))(state, batch, {})[1]["loss"])
    assert float(metrics["loss"]) != f32_loss
    np.testing.assert_allclose(float(metrics["loss"]), f32_loss, rtol=3e-2)

    # A second step takes the state the first returned and keeps its dtypes (no drift to bf16).
    newer, _ = jax.jit(train_step)(new, batch, {})
    assert _dtypes(newer) == _dtypes(state)

    seen.clear()
    logits = jax.jit(eval_step)(new, batch)
    assert logits.dtype == jnp.float32 and seen[0][1] == jnp.bfloat16


def test_bfloat16_on_cpu_is_float32(monkeypatch):
    """Where bf16 is emulated (CPU), compute_dtype='bfloat16' runs the float32 program."""
    seen: list = []
    state, batch = _recording_state(seen)
    with monkeypatch.context() as patch:
        patch.setattr(jax, "default_backend", lambda: "cpu")
        bf16_on_cpu = steps.make_train_step("softmax", compute_dtype="bfloat16")
    _, a = jax.jit(bf16_on_cpu)(state, batch, {})
    assert seen[-1][1] == jnp.float32 and set(seen[-1][0].values()) == {F32}
    _, b = jax.jit(steps.make_train_step("softmax"))(state, batch, {})
    assert float(a["loss"]) == float(b["loss"])


class BatchNormNet(nn.Module):
    """Conv -> BatchNorm with the students' momentum (cnn1d, resnet1d use 0.9) -> dense."""

    @nn.compact
    def __call__(self, x, rr=None, *, train: bool = False):
        h = nn.Conv(4, (5,), use_bias=False)(x)
        h = nn.BatchNorm(use_running_average=not train, momentum=0.9)(h)
        return nn.Dense(2)(h.mean(axis=1))


@pytest.mark.parametrize("compute_dtype", ["float32", "bfloat16"])
def test_running_statistics_converge_to_the_batch_statistics(compute_dtype, monkeypatch):
    # Frozen weights (lr 0) and one fixed batch: the EMA must converge to that batch's statistics.
    model = BatchNormNet()
    x = jax.random.normal(jax.random.PRNGKey(0), (64, 32, 1)) * 3.0 + 1.0
    variables = model.init(jax.random.PRNGKey(0), x[:1], None)
    state = TrainState.from_variables(apply_fn=model.apply, variables=variables, tx=optax.sgd(0.0),
                                      dropout_key=jax.random.PRNGKey(1))
    with monkeypatch.context() as patch:
        patch.setattr(jax, "default_backend", lambda: "gpu")
        step = jax.jit(steps.make_train_step("softmax", compute_dtype=compute_dtype))
    batch = {"x": x, "y": (jnp.arange(64) % 2).astype(jnp.int32)}
    for _ in range(200):  # 0.9 ** 200 ~ 1e-9: the initial statistics are forgotten
        state, _ = step(state, batch, {})
    h = nn.Conv(4, (5,), use_bias=False).apply({"params": variables["params"]["Conv_0"]}, x)
    stats = state.batch_stats["BatchNorm_0"]
    assert stats["var"].dtype == jnp.float32
    # bf16 activations alone cost ~0.4%; a stalled average is ~4% off.
    np.testing.assert_allclose(stats["var"], h.var(axis=(0, 1)), rtol=2e-2)
    np.testing.assert_allclose(stats["mean"], h.mean(axis=(0, 1)), rtol=2e-2, atol=2e-2)
