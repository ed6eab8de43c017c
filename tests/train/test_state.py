"""``TrainState``: flax's train state plus batch_stats and a dropout key; stacks over seeds under vmap."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax.training import train_state

from ecgq.train.state import TrainState


TX = optax.adam(1e-2)  # one object: tx is static, so trees built with it have equal structure


def _init(model, key, x):
    init_key, dropout_key = jax.random.split(key)
    variables = model.init({"params": init_key, "dropout": init_key}, x, None, train=False)
    return TrainState.from_variables(apply_fn=model.apply, variables=variables, tx=TX, dropout_key=dropout_key)


def test_from_variables_is_a_flax_train_state(tiny_model):
    model = tiny_model()
    x = jnp.zeros((1, 32, 1))
    state = _init(model, jax.random.PRNGKey(0), x)
    assert isinstance(state, train_state.TrainState)
    assert state.step.dtype == jnp.int32 and state.step.shape == () and int(state.step) == 0
    variables = model.init({"params": jax.random.split(jax.random.PRNGKey(0))[0]}, x, None, train=False)
    for a, b in zip(jax.tree_util.tree_leaves(state.variables), jax.tree_util.tree_leaves(variables)):
        np.testing.assert_array_equal(a, b)
    assert set(state.variables) == {"params", "batch_stats"}
    assert state.apply_fn == model.apply and state.tx is TX
    # opt_state is the optimiser's own init of the params.
    ref = TX.init(state.params)
    assert jax.tree_util.tree_structure(state.opt_state) == jax.tree_util.tree_structure(ref)
    # A model without BatchNorm has empty batch_stats, and its variables are the params alone.
    dense = TrainState.from_variables(apply_fn=None, variables={"params": {"w": jnp.ones(3)}},
                                      tx=optax.sgd(0.1), dropout_key=jax.random.PRNGKey(1))
    assert dense.batch_stats == {} and set(dense.variables) == {"params"}


def test_vmapped_init_stacks_seeds(tiny_model):
    model = tiny_model()
    x = jnp.zeros((1, 32, 1))
    keys = jnp.stack([jax.random.PRNGKey(s) for s in (0, 1, 2)])
    stacked = jax.jit(jax.vmap(lambda k: _init(model, k, x)))(keys)
    assert isinstance(stacked, TrainState)
    single = _init(model, keys[1], x)
    # Same dataclass, apply_fn and tx static: the tree structure is that of one seed...
    assert jax.tree_util.tree_structure(stacked) == jax.tree_util.tree_structure(single)
    # ...and every array leaf gains a leading seed axis; lane 1 is seed 1 initialised alone.
    for a, b in zip(jax.tree_util.tree_leaves(stacked), jax.tree_util.tree_leaves(single)):
        assert a.shape == (3,) + b.shape
        np.testing.assert_array_equal(a[1], b)
    kernels = stacked.params["Dense_0"]["kernel"]
    assert not np.allclose(kernels[0], kernels[1])


def test_apply_gradients_updates_step_params_opt_state_and_batch_stats():
    params = {"w": jnp.asarray([1.0, -2.0, 3.0])}
    stats = {"mean": jnp.zeros(3)}
    tx = optax.sgd(0.5, momentum=0.9)
    state = TrainState.from_variables(apply_fn=None, variables={"params": params, "batch_stats": stats},
                                      tx=tx, dropout_key=jax.random.PRNGKey(0))
    grads = {"w": jnp.asarray([1.0, 1.0, -2.0])}
    new = state.apply_gradients(grads=grads)
    updates, opt_state = tx.update(grads, tx.init(params), params)
    assert int(new.step) == 1
    np.testing.assert_array_equal(new.params["w"], optax.apply_updates(params, updates)["w"])
    for a, b in zip(jax.tree_util.tree_leaves(new.opt_state), jax.tree_util.tree_leaves(opt_state)):
        np.testing.assert_array_equal(a, b)
    assert new.batch_stats is state.batch_stats  # kept when not given
    np.testing.assert_array_equal(new.dropout_key, state.dropout_key)

    fresh = {"mean": jnp.asarray([0.1, 0.2, 0.3])}
    newer = new.apply_gradients(grads=grads, batch_stats=fresh)
    assert int(newer.step) == 2
    np.testing.assert_array_equal(newer.batch_stats["mean"], fresh["mean"])
    assert not np.allclose(newer.params["w"], new.params["w"])
    # Momentum: the second update is not just the first one repeated.
    assert not np.allclose(newer.params["w"] - new.params["w"], new.params["w"] - params["w"])


def test_apply_gradients_vmaps_over_stacked_seeds():
    tx = optax.sgd(1.0)
    keys = jnp.stack([jax.random.PRNGKey(s) for s in range(2)])

    def init(key):
        return TrainState.from_variables(apply_fn=None, variables={"params": {"w": jax.random.normal(key, (2,))}},
                                         tx=tx, dropout_key=key)

    stacked = jax.vmap(init)(keys)
    grads = {"w": jnp.asarray([[1.0, 0.0], [0.0, 2.0]])}
    new = jax.jit(jax.vmap(lambda s, g: s.apply_gradients(grads=g)))(stacked, grads)
    np.testing.assert_array_equal(new.step, [1, 1])
    np.testing.assert_allclose(new.params["w"], stacked.params["w"] - grads["w"])
