"""Vision transformer for images and ECG windows, with classical or quantum projections.

Why one module for ViT and QViT: the comparison of Boucher & Mazomenos (arXiv 2503.07294) is
about what replacing the attention's linear maps with variational circuits does, so everything
else (patching, positions, norms, MLP, pooling, head) is literally the same code. Which map is used
is a module class passed in (:class:`DenseMap` or :class:`CircuitMap`); both map a token's ``d``
features to ``d`` features and are stacked over heads with ``nn.vmap``.

Layout (pre-norm transformer, Dosovitskiy et al. 2021):

    x (batch, H, W, C) or (batch, T, L) --[non-overlapping patches, linear]--> tokens (batch, n, d)
    [class token] + learned position embeddings
    depth x:  t + sum_h O_h(attention_h(Q_h t, K_h t, V_h t)),   t + MLP(LN t)      (LN before each)
    LN, class token (or mean of tokens) [+ RR features] --[dense]--> logits

Each of the ``n_heads`` heads has its own Q, K and V maps of width ``d`` (head width = hidden
width: with one qubit per hidden dimension a circuit cannot be split between heads) and its own
output map; the heads' outputs are summed, which is what a linear output projection of the
concatenated heads computes (``W_O [o_1; ...; o_h] = sum_h W_O^h o_h``). So a QViT evaluates
``tokens x heads x 4`` circuits per sample and layer, all of them in one batched call per kind.

QViT's circuit (Comajoan Cara et al. 2024): one qubit per hidden dimension, the token's features as
RX angles, ``circuit_layers`` layers of trainable RX rotations and a CNOT ring (block ``rx_ring``),
``<Z>`` on every qubit. ``quantum_mlp`` also replaces the MLP's hidden map by such a circuit (the
hidden width is then ``d``). Edges that do not fill a whole patch are dropped (VALID patching).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from ecgq.models.heads import concat_rr

POOLINGS = ("cls", "mean")


class DenseMap(nn.Module):
    """A linear map of a token's ``d`` features to ``d`` features (the ViT projection)."""

    width: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return nn.Dense(self.width, kernel_init=nn.initializers.xavier_uniform(), name="dense")(x)


class CircuitMap(nn.Module):
    """A VQC on ``width`` qubits: features as encoding angles, ``<Z>`` of every qubit out (QViT)."""

    width: int
    make_vqc: Callable[[int], nn.Module]

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        lead = x.shape[:-1]
        out = self.make_vqc(self.width)(x.reshape(-1, x.shape[-1]))
        return out.reshape(*lead, self.width).astype(x.dtype)


class FreeMap(nn.Module):
    """``cos`` of the angles: a circuit map's shapes and range with no parameters and no simulation (the
    ``<Z>`` of the RX encoding alone). Only for timing what the simulated circuits cost (``ecgq.studies.qvit``)."""

    width: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return jnp.cos(x)


def stacked(map_cls, count: int, shared_input: bool):
    """``count`` independent copies of ``map_cls`` applied in one vmapped call: to the same input
    (``shared_input``; Q, K, V of every head) or to one input each (the heads' output maps)."""
    # "shots": a circuit map under finite-shot evaluation draws its own samples (each copy a key of its own).
    return nn.vmap(map_cls, variable_axes={"params": 0}, split_rngs={"params": True, "shots": True},
                   in_axes=None if shared_input else 0, out_axes=0, axis_size=count)


class Attention(nn.Module):
    """Multi-head self-attention whose Q, K, V and output maps are ``map_factory(width)`` modules."""

    width: int
    n_heads: int
    map_factory: Callable[[int], tuple]  # width -> (module class, its keyword arguments)

    @nn.compact
    def __call__(self, t: jax.Array) -> jax.Array:
        cls, kwargs = self.map_factory(self.width)
        q, k, v = jnp.split(stacked(cls, 3 * self.n_heads, True)(name="qkv", **kwargs)(t), 3, axis=0)
        scores = jnp.einsum("hbqd,hbkd->hbqk", q, k) / math.sqrt(self.width)
        heads = jnp.einsum("hbqk,hbkd->hbqd", jax.nn.softmax(scores, axis=-1), v)
        return stacked(cls, self.n_heads, False)(name="out", **kwargs)(heads).sum(axis=0)


class MLP(nn.Module):
    """``dense(gelu(hidden(t)))``; ``hidden`` is a Dense of ``mlp_dim`` or a circuit map of width d."""

    width: int
    mlp_dim: int
    hidden_map: Callable[[], nn.Module] | None = None

    @nn.compact
    def __call__(self, t: jax.Array) -> jax.Array:
        h = self.hidden_map()(t) if self.hidden_map is not None else nn.Dense(self.mlp_dim, name="hidden")(t)
        return nn.Dense(self.width, name="out")(nn.gelu(h))


class VisionTransformer(nn.Module):
    """``__call__(x, rr=None, *, train=False)``: images ``(batch, H, W, C)`` or windows
    ``(batch, T, L)`` -> logits. ``map_factory`` decides ViT (dense maps) or QViT (circuits)."""

    n_outputs: int
    map_factory: Callable[[int], tuple]
    patch_size: int = 7
    hidden_size: int = 8
    n_heads: int = 1
    depth: int = 1
    mlp_dim: int = 16
    pooling: str = "cls"
    dropout: float = 0.0
    mlp_map: Callable[[int], nn.Module] | None = None  # width -> circuit map replacing the MLP's hidden map

    @nn.compact
    def __call__(self, x: jax.Array, rr: jax.Array | None = None, *, train: bool = False) -> jax.Array:
        if x.ndim not in (3, 4):
            raise ValueError(f"vit expects images (batch, H, W, C) or windows (batch, T, L), got {x.shape}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {self.pooling!r}")
        spatial = x.shape[1:-1]
        if any(s < self.patch_size for s in spatial):
            raise ValueError(f"patch_size {self.patch_size} is larger than the input {tuple(spatial)}")
        d, p = self.hidden_size, self.patch_size
        t = nn.Conv(d, (p,) * len(spatial), strides=(p,) * len(spatial), padding="VALID", name="patches")(x)
        t = t.reshape(t.shape[0], -1, d)
        if self.pooling == "cls":
            cls_token = self.param("cls", nn.initializers.zeros, (1, 1, d))
            t = jnp.concatenate([jnp.broadcast_to(cls_token, (t.shape[0], 1, d)), t], axis=1)
        t = t + self.param("positions", nn.initializers.normal(0.02), (1, t.shape[1], d))
        drop = nn.Dropout(self.dropout, deterministic=not train)
        for i in range(self.depth):
            t = t + drop(Attention(d, self.n_heads, self.map_factory, name=f"attn{i}")(nn.LayerNorm(name=f"ln_a{i}")(t)))
            hidden = None if self.mlp_map is None else (lambda: self.mlp_map(d))
            t = t + drop(MLP(d, self.mlp_dim, hidden, name=f"mlp{i}")(nn.LayerNorm(name=f"ln_m{i}")(t)))
        t = nn.LayerNorm(name="ln_out")(t)
        pooled = t[:, 0] if self.pooling == "cls" else t.mean(axis=1)
        return nn.Dense(self.n_outputs, name="head")(concat_rr(pooled, rr))
