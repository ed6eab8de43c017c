"""``resnet2d``: a small residual CNN teacher for images (the QViT study's classical teacher).

Why a small one: the QViT paper distils from strong classical teachers (MedMNIST's ResNet-18 is the
benchmark's reference); on two shared CPU cores a ResNet-18 would take the whole time budget, so
this is the same design (3x3 basic blocks with BatchNorm, projection shortcuts, global average
pooling) at widths (16, 32, 64) and one block per stage, ~0.08 M parameters on grey 28 px images.
Convolutions have one kernel axis per input axis, so it also takes ECG windows ``(batch, T, L)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from ecgq.models.heads import concat_rr
from ecgq.models.registry import MODELS, ModelSpec, config_of, module_from_config


class BasicBlock(nn.Module):
    """conv3 (stride) -> BN -> ReLU -> conv3 -> BN, plus a (projected) shortcut, ReLU."""

    features: int
    stride: int = 1

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        n = x.ndim - 2
        norm = lambda name: nn.BatchNorm(use_running_average=not train, momentum=0.9, name=name)  # noqa: E731
        y = nn.Conv(self.features, (3,) * n, strides=(self.stride,) * n, padding="SAME", use_bias=False, name="conv1")(x)
        y = nn.relu(norm("bn1")(y))
        y = norm("bn2")(nn.Conv(self.features, (3,) * n, padding="SAME", use_bias=False, name="conv2")(y))
        shortcut = x
        if self.stride != 1 or x.shape[-1] != self.features:
            shortcut = norm("proj_bn")(nn.Conv(self.features, (1,) * n, strides=(self.stride,) * n,
                                               use_bias=False, name="proj")(x))
        return nn.relu(y + shortcut)


class ResNet2D(nn.Module):
    """``__call__(x, rr=None, *, train=False)``: ``x`` ``(batch, H, W, C)`` (or ``(batch, T, L)``) -> logits."""

    n_outputs: int
    stem_features: int = 16
    stage_features: Sequence[int] = (16, 32, 64)
    stage_strides: Sequence[int] = (1, 2, 2)
    dropout: float = 0.1

    @nn.compact
    def __call__(self, x: jax.Array, rr: jax.Array | None = None, *, train: bool = False) -> jax.Array:
        if len(self.stage_features) != len(self.stage_strides):
            raise ValueError("resnet2d: stage_features and stage_strides need one entry per stage")
        n = x.ndim - 2
        x = nn.Conv(self.stem_features, (3,) * n, padding="SAME", use_bias=False, name="stem")(x)
        x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9, name="stem_bn")(x))
        for width, stride in zip(self.stage_features, self.stage_strides):
            x = BasicBlock(width, stride)(x, train)
        pooled = x.mean(axis=tuple(range(1, 1 + n)))
        pooled = nn.Dropout(self.dropout, deterministic=not train)(concat_rr(pooled, rr))
        return nn.Dense(self.n_outputs, name="head")(pooled)



MODELS.register(ModelSpec(
    name="resnet2d",
    role="teacher",
    family="classical",
    description="Small residual CNN teacher for images (3x3 basic blocks 16-32-64, GAP), ~0.08 M parameters",
    config=lambda: config_of(ResNet2D),
    docs={
        "stem_features": "Width of the 3x3 stem convolution.",
        "stage_features": "Width of each residual stage (one basic block each).",
        "stage_strides": "Stride of each stage's block (2 halves the image).",
        "dropout": "Dropout rate before the classification head (training only).",
    },
    build=lambda cfg, n_outputs, _quantum=None: module_from_config(ResNet2D, cfg, n_outputs=n_outputs),
    default_input_shape=(28, 28, 1),
   
))
