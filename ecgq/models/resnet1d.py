"""PTB-XL-style residual 1-D CNN student (~0.27 M parameters by default).

Follows the ResNet1d baselines of the PTB-XL benchmark (Strodthoff et al., 2021): a wide stem,
basic residual blocks of two convolutions (kernel 5 then 3) with BatchNorm, projection shortcuts
where the shape changes, and concatenated average + max pooling before the head.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from ecgq.models.cnn1d import max_pool_1d
from ecgq.models.heads import concat_rr
from ecgq.models.registry import MODELS, ModelSpec, config_of, module_from_config


class ResidualBlock(nn.Module):
    """conv(k1, stride) -> BN -> ReLU -> conv(k2) -> BN, plus a (projected) shortcut, ReLU."""

    features: int
    stride: int = 1
    kernel_sizes: Sequence[int] = (5, 3)

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        norm = lambda name: nn.BatchNorm(use_running_average=not train, momentum=0.9, name=name)  # noqa: E731
        shortcut = x
        y = nn.Conv(self.features, (self.kernel_sizes[0],), strides=(self.stride,), padding="SAME",
                    use_bias=False, name="conv1")(x)
        y = nn.relu(norm("bn1")(y))
        y = nn.Conv(self.features, (self.kernel_sizes[1],), padding="SAME", use_bias=False,
                    name="conv2")(y)
        y = norm("bn2")(y)
        if self.stride != 1 or x.shape[-1] != self.features:
            shortcut = nn.Conv(self.features, (1,), strides=(self.stride,), padding="SAME",
                               use_bias=False, name="proj")(x)
            shortcut = norm("proj_bn")(shortcut)
        return nn.relu(y + shortcut)


class ResNet1D(nn.Module):
    """``__call__(x, rr=None, *, train=False)``: ``x`` ``(batch, time, leads)`` -> logits."""

    n_outputs: int
    stem_features: int = 32
    stem_kernel: int = 7
    stage_features: Sequence[int] = (64, 128, 128)
    blocks_per_stage: Sequence[int] = (1, 1, 1)
    stage_strides: Sequence[int] = (1, 2, 2)
    kernel_sizes: Sequence[int] = (5, 3)
    dropout: float = 0.2

    @nn.compact
    def __call__(self, x: jax.Array, rr: jax.Array | None = None, *, train: bool = False):
        if not len(self.stage_features) == len(self.blocks_per_stage) == len(self.stage_strides):
            raise ValueError("resnet1d: stage_features, blocks_per_stage and stage_strides need "
                             "one entry per stage")
        if len(self.kernel_sizes) != 2:
            raise ValueError("resnet1d: kernel_sizes lists the two convolutions of a block")
        if x.ndim != 3:
            raise ValueError(f"resnet1d expects (batch, time, leads), got {x.shape}")
        x = nn.Conv(self.stem_features, (self.stem_kernel,), strides=(2,), padding="SAME",
                    use_bias=False, name="stem")(x)
        x = nn.relu(nn.BatchNorm(use_running_average=not train, momentum=0.9, name="stem_bn")(x))
        x = max_pool_1d(x, 3, 2)  # = nn.max_pool(x, (3,), (2,), "SAME"), faster gradient on CPU
        for width, blocks, stride in zip(self.stage_features, self.blocks_per_stage,
                                         self.stage_strides):
            for i in range(blocks):
                x = ResidualBlock(width, stride if i == 0 else 1, tuple(self.kernel_sizes))(x, train)
        pooled = jnp.concatenate([x.mean(axis=-2), x.max(axis=-2)], axis=-1)
        pooled = nn.Dropout(self.dropout, deterministic=not train)(concat_rr(pooled, rr))
        return nn.Dense(self.n_outputs, name="head")(pooled)


MODELS.register(ModelSpec(
    name="resnet1d",
    role="student",
    family="classical",
    description="PTB-XL-style residual 1-D CNN (Strodthoff et al. 2021), ~0.27 M parameters",
    config=lambda: config_of(ResNet1D),
    docs={
        "stem_features": "Width of the stem convolution.",
        "stem_kernel": "Kernel length of the stem convolution.",
        "stage_features": "Width of each residual stage.",
        "blocks_per_stage": "Residual blocks in each stage.",
        "stage_strides": "Temporal stride of the first block of each stage.",
        "kernel_sizes": "Kernel lengths of the first and second convolution of a block.",
        "dropout": "Dropout rate before the classification head (training only).",
    },
    build=lambda cfg, n_outputs, _quantum=None: module_from_config(ResNet1D, cfg, n_outputs=n_outputs),
))
