"""The training state of one model (one seed): a pytree, so it can be vmapped and checkpointed.

``apply_fn`` and ``tx`` are static (not leaves), so a stacked state of N seeds is simply the same
dataclass whose every array leaf has a leading axis of size N.
"""

from __future__ import annotations

from typing import Any, Callable

import flax
import jax
import jax.numpy as jnp
import optax


@flax.struct.dataclass
class TrainState:
    """Parameters, BatchNorm statistics (``{}`` for models without), optimiser state and RNG.

    ``dropout_key`` is the seed's own dropout stream; each step folds in ``step``, so a resumed run
    draws exactly the masks an uninterrupted one would.
    """

    step: jax.Array
    params: Any
    batch_stats: Any
    opt_state: Any
    dropout_key: jax.Array
    apply_fn: Callable = flax.struct.field(pytree_node=False)
    tx: optax.GradientTransformation = flax.struct.field(pytree_node=False)

    @classmethod
    def create(cls, *, apply_fn, variables, tx, dropout_key) -> "TrainState":
        params = variables["params"]
        return cls(
            step=jnp.zeros((), jnp.int32),
            params=params,
            batch_stats=variables.get("batch_stats", {}),
            opt_state=tx.init(params),
            dropout_key=dropout_key,
            apply_fn=apply_fn,
            tx=tx,
        )

    @property
    def variables(self) -> dict:
        """The variables to ``apply`` the model with (params plus batch_stats when present)."""
        if self.batch_stats:
            return {"params": self.params, "batch_stats": self.batch_stats}
        return {"params": self.params}

    def apply_gradients(self, grads, batch_stats=None) -> "TrainState":
        updates, opt_state = self.tx.update(grads, self.opt_state, self.params)
        return self.replace(
            step=self.step + 1,
            params=optax.apply_updates(self.params, updates),
            opt_state=opt_state,
            batch_stats=self.batch_stats if batch_stats is None else batch_stats,
        )
