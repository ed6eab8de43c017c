"""ECGFounder's Net1D in Flax Linen, numerically equal to the released PyTorch model.

The released teacher (PKUDigitalHealth/ECGFounder, ``net1d.py``) is a pre-activation ResNeXt-style
1-D CNN with squeeze-and-excitation. Every detail that changes numbers is reproduced here because a
port that is "almost" right moves random-weight logits by ~1e-3 and pretrained ones by more:

* "same" convolutions pad ``p = max(0, (ceil(L/s) - 1) * s + k - L)`` zeros, ``p // 2`` on the left
  and the odd extra sample on the right;
* the shortcut max-pool pads with *zeros* (not -inf), ``(k-1)//2`` left and the rest right;
* the shortcut's zero channels are centred: ``(out-in)//2`` before the identity, the rest after;
* the first block of the first stage skips its pre-activation.

Module and parameter names mirror the PyTorch ``state_dict`` (``stage_list.3.block_list.1.conv2``
becomes ``stage_list_3/block_list_1/conv2``) so the importer is a mechanical rename + transpose.
Inputs are channels-last ``(batch, time, leads)``.

Loading released ``.pth`` weights lives in :mod:`ecgq.models.ecgfounder_import` so that torch stays
an optional dependency; ``python -m ecgq.models.ecgfounder_import --checkpoint=... --output_dir=...``
converts a checkpoint into an Orbax one. The teacher presets are registered in
:mod:`ecgq.models.teacher`.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from ecgq.models import released

RELEASED_ARCH = released.ARCH
RELEASED_N_CLASSES = released.N_CLASSES
RELEASED_INPUT_LENGTH = released.INPUT_LENGTH
RELEASED_SAMPLING_RATE = released.SAMPLING_RATE


def same_padding(length: int, kernel_size: int, stride: int) -> tuple[int, int]:
    """(left, right) zero padding of ``MyConv1dPadSame``: the odd extra sample goes on the right."""
    out_length = (length + stride - 1) // stride
    total = max(0, (out_length - 1) * stride + kernel_size - length)
    return total // 2, total - total // 2


def zero_padded_max_pool(x: jax.Array, kernel_size: int) -> jax.Array:
    """``MyMaxPool1dPadSame``: zero-pad ``kernel_size - 1`` samples, then non-overlapping max-pool.

    Zeros (not -inf) take part in the max, exactly as in the released code.
    """
    if kernel_size <= 1:
        return x
    total = kernel_size - 1
    x = jnp.pad(x, ((0, 0), (total // 2, total - total // 2), (0, 0)))
    return nn.max_pool(x, (kernel_size,), strides=(kernel_size,), padding="VALID")


def centred_channel_pad(x: jax.Array, out_channels: int) -> jax.Array:
    """Pad the channel axis with zeros to ``out_channels``, ``(out-in)//2`` of them in front."""
    extra = out_channels - x.shape[-1]
    if extra < 0:
        raise ValueError(f"cannot pad {x.shape[-1]} channels down to {out_channels}")
    return jnp.pad(x, ((0, 0), (0, 0), (extra // 2, extra - extra // 2)))


class SameConv(nn.Module):
    """``MyConv1dPadSame``: a (grouped) 1-D convolution with the released "same" padding.

    The inner ``nn.Conv`` is named ``conv`` to mirror ``<name>.conv.weight`` in the state_dict.
    """

    features: int
    kernel_size: int
    stride: int = 1
    groups: int = 1

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        left, right = same_padding(x.shape[-2], self.kernel_size, self.stride)
        x = jnp.pad(x, ((0, 0), (left, right), (0, 0)))
        return nn.Conv(
            self.features,
            (self.kernel_size,),
            strides=(self.stride,),
            padding="VALID",
            feature_group_count=self.groups,
            name="conv",
        )(x)


class BasicBlock(nn.Module):
    """Pre-activation bottleneck: [BN] Swish [Dropout] conv1x1 -> ... convk (grouped) -> ... conv1x1,
    squeeze-and-excitation, plus a max-pooled, zero-channel-padded shortcut."""

    in_channels: int
    out_channels: int
    ratio: float
    kernel_size: int
    stride: int
    groups: int
    downsample: bool
    is_first_block: bool = False
    use_bn: bool = False
    use_do: bool = False
    dropout_rate: float = 0.5

    def _pre_activation(self, x: jax.Array, index: int, train: bool) -> jax.Array:
        if self.use_bn:
            x = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5,
                             name=f"bn{index}")(x)
        x = nn.swish(x)
        if self.use_do:
            x = nn.Dropout(self.dropout_rate, deterministic=not train)(x)
        return x

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        if x.shape[-1] != self.in_channels:
            raise ValueError(f"block expects {self.in_channels} channels, got {x.shape[-1]}")
        middle = int(self.out_channels * self.ratio)
        stride = self.stride if self.downsample else 1
        identity = x

        out = x if self.is_first_block else self._pre_activation(x, 1, train)
        out = SameConv(middle, 1, name="conv1")(out)
        out = self._pre_activation(out, 2, train)
        out = SameConv(middle, self.kernel_size, stride, self.groups, name="conv2")(out)
        out = self._pre_activation(out, 3, train)
        out = SameConv(self.out_channels, 1, name="conv3")(out)

        squeeze = out.mean(axis=-2)
        squeeze = nn.swish(nn.Dense(self.out_channels // 2, name="se_fc1")(squeeze))
        excite = nn.sigmoid(nn.Dense(self.out_channels, name="se_fc2")(squeeze))
        out = out * excite[:, None, :]

        if self.downsample:
            identity = zero_padded_max_pool(identity, stride)
        if self.out_channels != self.in_channels:
            identity = centred_channel_pad(identity, self.out_channels)
        return out + identity


class BasicStage(nn.Module):
    """``m_blocks`` blocks; the first one downsamples by ``stride`` and changes the width."""

    in_channels: int
    out_channels: int
    ratio: float
    kernel_size: int
    stride: int
    groups: int
    i_stage: int
    m_blocks: int
    use_bn: bool = False
    use_do: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        for i_block in range(self.m_blocks):
            first = i_block == 0
            x = BasicBlock(
                in_channels=self.in_channels if first else self.out_channels,
                out_channels=self.out_channels,
                ratio=self.ratio,
                kernel_size=self.kernel_size,
                stride=self.stride if first else 1,
                groups=self.groups,
                downsample=first,
                is_first_block=self.i_stage == 0 and first,
                use_bn=self.use_bn,
                use_do=self.use_do,
                name=f"block_list_{i_block}",
            )(x, train)
        return x


class Net1D(nn.Module):
    """ECGFounder's Net1D. ``__call__(x, rr=None, *, train=False, return_features=False)``.

    ``x``: ``(batch, time, leads)``. Returns logits ``(batch, n_classes)``, or ``(logits, features)``
    with the pooled ``filter_list[-1]``-d features when ``return_features``. Optional ``rr``
    features ``(batch, r)`` are concatenated to the pooled features before the dense head (the
    released head takes none, so a checkpoint's head only fits ``rr=None``).
    """

    n_classes: int = RELEASED_N_CLASSES
    base_filters: int = 64
    ratio: float = 1.0
    filter_list: Sequence[int] = RELEASED_ARCH["filter_list"]
    m_blocks_list: Sequence[int] = RELEASED_ARCH["m_blocks_list"]
    kernel_size: int = 16
    stride: int = 2
    groups_width: int = 16
    use_bn: bool = False
    use_do: bool = False

    def setup(self) -> None:
        if len(self.filter_list) != len(self.m_blocks_list):
            raise ValueError(
                f"filter_list ({len(self.filter_list)}) and m_blocks_list "
                f"({len(self.m_blocks_list)}) must have one entry per stage")
        for width in self.filter_list:
            if width % self.groups_width:
                raise ValueError(f"stage width {width} is not a multiple of groups_width "
                                 f"{self.groups_width}")
        self.first_conv = SameConv(self.base_filters, self.kernel_size, 2)
        if self.use_bn:
            self.first_bn = nn.BatchNorm(momentum=0.9, epsilon=1e-5)
        stages, in_channels = [], self.base_filters
        for i_stage, (width, blocks) in enumerate(zip(self.filter_list, self.m_blocks_list)):
            stages.append(BasicStage(
                in_channels=in_channels,
                out_channels=width,
                ratio=self.ratio,
                kernel_size=self.kernel_size,
                stride=self.stride,
                groups=width // self.groups_width,
                i_stage=i_stage,
                m_blocks=blocks,
                use_bn=self.use_bn,
                use_do=self.use_do,
            ))
            in_channels = width
        self.stage_list = stages  # Flax names them stage_list_0, stage_list_1, ...
        self.dense = nn.Dense(self.n_classes)

    def features(self, x: jax.Array, train: bool = False) -> jax.Array:
        """Pooled deep features ``(batch, filter_list[-1])`` (``deep_features`` in the original)."""
        if x.ndim != 3:
            raise ValueError(f"Net1D expects (batch, time, leads), got shape {x.shape}")
        out = self.first_conv(x)
        if self.use_bn:
            out = self.first_bn(out, use_running_average=not train)
        out = nn.swish(out)
        for stage in self.stage_list:
            out = stage(out, train)
        return out.mean(axis=-2)

    def __call__(self, x: jax.Array, rr: jax.Array | None = None, *, train: bool = False,
                 return_features: bool = False):
        features = self.features(x, train)
        head_input = features if rr is None else jnp.concatenate([features, rr], axis=-1)
        logits = self.dense(head_input)
        return (logits, features) if return_features else logits


def released_net1d(n_classes: int = RELEASED_N_CLASSES) -> Net1D:
    """Net1D with the released architecture (12- or 1-lead: the lead count comes from the input)."""
    return Net1D(n_classes=n_classes, **RELEASED_ARCH)


# Help of the architecture fields of a Net1D config (ecgfounder, ecgfounder_small).
NET1D_DOCS = {
    "base_filters": "Width of the first (stride-2) convolution.",
    "ratio": "Bottleneck width as a fraction of the stage width.",
    "filter_list": "Output width of each stage (each a multiple of groups_width).",
    "m_blocks_list": "Number of blocks in each stage (the first one downsamples).",
    "kernel_size": "Kernel length of the grouped convolutions.",
    "stride": "Downsampling factor of the first block of each stage.",
    "groups_width": "Channels per group of the grouped convolution (groups = width // this).",
    "use_bn": "BatchNorm before each activation (the released weights use none: False).",
    "use_do": "Dropout (p=0.5) after each pre-activation in training (released: False).",
}
