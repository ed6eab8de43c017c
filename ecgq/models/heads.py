"""Joining optional RR-interval features to a model's pooled features before its head."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def concat_rr(features: jax.Array, rr: jax.Array | None) -> jax.Array:
    """``features`` with ``rr`` appended on the last axis (unchanged when ``rr`` is None).

    The head's input size is fixed at ``init``: initialise with ``rr`` to use it in ``apply``.
    """
    if rr is None:
        return features
    if rr.ndim != 2 or rr.shape[0] != features.shape[0]:
        raise ValueError(f"rr must be (batch, n_rr) with batch {features.shape[0]}, got {rr.shape}")
    return jnp.concatenate([features, rr.astype(features.dtype)], axis=-1)
