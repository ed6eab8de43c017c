"""The training state of one model (one seed): flax's ``TrainState`` plus BatchNorm statistics and a
dropout key. A pytree, so it can be vmapped and checkpointed.

``apply_fn`` and ``tx`` are static (not leaves), so a stacked state of N seeds is the same dataclass
whose every array leaf has a leading axis of size N.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax.training import train_state


class TrainState(train_state.TrainState):
    """``params``, ``opt_state``, ``step`` (flax), ``batch_stats`` (``{}`` for models without
    BatchNorm) and ``dropout_key``.

    ``dropout_key`` is the seed's own dropout stream; each step folds in ``step``, so a resumed run
    draws exactly the masks an uninterrupted one would.
    """

    batch_stats: Any
    dropout_key: jax.Array

    @classmethod
    def from_variables(cls, *, apply_fn, variables, tx, dropout_key) -> "TrainState":
        state = cls.create(apply_fn=apply_fn, params=variables["params"], tx=tx,
                           batch_stats=variables.get("batch_stats", {}), dropout_key=dropout_key)
        return state.replace(step=jnp.zeros((), jnp.int32))

    @property
    def variables(self) -> dict:
        """The variables to ``apply`` the model with (params plus batch_stats when present)."""
        if self.batch_stats:
            return {"params": self.params, "batch_stats": self.batch_stats}
        return {"params": self.params}

    def apply_gradients(self, *, grads, batch_stats=None, **kwargs) -> "TrainState":
        """One optimiser update; ``batch_stats`` replaces the running statistics when given."""
        if batch_stats is not None:
            kwargs["batch_stats"] = batch_stats
        return super().apply_gradients(grads=grads, **kwargs)
