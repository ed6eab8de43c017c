"""A PyTorch Net1D written to match ECGFounder's released ``net1d.py`` (the parity reference).

Kept deliberately literal (channels-first, explicit F.pad calls, zero-padded max-pool, centred
channel padding, BatchNorm modules constructed even when unused) so that its state_dict has the
released key set, BN entries included.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class MyConv1dPadSame(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride, groups=1):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride
        self.conv = nn.Conv1d(in_channels, out_channels, kernel_size, stride, groups=groups)

    def forward(self, x):
        in_dim = x.shape[-1]
        out_dim = (in_dim + self.stride - 1) // self.stride
        p = max(0, (out_dim - 1) * self.stride + self.kernel_size - in_dim)
        x = F.pad(x, (p // 2, p - p // 2), "constant", 0)
        return self.conv(x)


class MyMaxPool1dPadSame(nn.Module):
    def __init__(self, kernel_size):
        super().__init__()
        self.kernel_size = kernel_size
        self.max_pool = nn.MaxPool1d(kernel_size=kernel_size)

    def forward(self, x):
        p = max(0, self.kernel_size - 1)
        x = F.pad(x, (p // 2, p - p // 2), "constant", 0)
        return self.max_pool(x)


class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


class BasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, ratio, kernel_size, stride, groups, downsample,
                 is_first_block=False, use_bn=True, use_do=True):
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.downsample = downsample
        self.stride = stride if downsample else 1
        self.is_first_block, self.use_bn, self.use_do = is_first_block, use_bn, use_do
        middle = int(out_channels * ratio)
        self.bn1 = nn.BatchNorm1d(in_channels)
        self.activation1 = Swish()
        self.do1 = nn.Dropout(p=0.5)
        self.conv1 = MyConv1dPadSame(in_channels, middle, 1, 1, 1)
        self.bn2 = nn.BatchNorm1d(middle)
        self.activation2 = Swish()
        self.do2 = nn.Dropout(p=0.5)
        self.conv2 = MyConv1dPadSame(middle, middle, kernel_size, self.stride, groups)
        self.bn3 = nn.BatchNorm1d(middle)
        self.activation3 = Swish()
        self.do3 = nn.Dropout(p=0.5)
        self.conv3 = MyConv1dPadSame(middle, out_channels, 1, 1, 1)
        self.se_fc1 = nn.Linear(out_channels, out_channels // 2)
        self.se_fc2 = nn.Linear(out_channels // 2, out_channels)
        self.se_activation = Swish()
        if downsample:
            self.max_pool = MyMaxPool1dPadSame(kernel_size=self.stride)

    def forward(self, x):
        identity, out = x, x
        if not self.is_first_block:
            if self.use_bn:
                out = self.bn1(out)
            out = self.activation1(out)
            if self.use_do:
                out = self.do1(out)
        out = self.conv1(out)
        if self.use_bn:
            out = self.bn2(out)
        out = self.activation2(out)
        if self.use_do:
            out = self.do2(out)
        out = self.conv2(out)
        if self.use_bn:
            out = self.bn3(out)
        out = self.activation3(out)
        if self.use_do:
            out = self.do3(out)
        out = self.conv3(out)
        se = out.mean(-1)
        se = torch.sigmoid(self.se_fc2(self.se_activation(self.se_fc1(se))))
        out = torch.einsum("abc,ab->abc", out, se)
        if self.downsample:
            identity = self.max_pool(identity)
        if self.out_channels != self.in_channels:
            identity = identity.transpose(-1, -2)
            ch1 = (self.out_channels - self.in_channels) // 2
            ch2 = self.out_channels - self.in_channels - ch1
            identity = F.pad(identity, (ch1, ch2), "constant", 0)
            identity = identity.transpose(-1, -2)
        return out + identity


class BasicStage(nn.Module):
    def __init__(self, in_channels, out_channels, ratio, kernel_size, stride, groups, i_stage,
                 m_blocks, use_bn=True, use_do=True):
        super().__init__()
        self.block_list = nn.ModuleList()
        for i_block in range(m_blocks):
            first = i_block == 0
            self.block_list.append(BasicBlock(
                in_channels if first else out_channels, out_channels, ratio, kernel_size,
                stride if first else 1, groups, downsample=first,
                is_first_block=(i_stage == 0 and first), use_bn=use_bn, use_do=use_do))

    def forward(self, x):
        for block in self.block_list:
            x = block(x)
        return x


class Net1D(nn.Module):
    def __init__(self, in_channels, base_filters, ratio, filter_list, m_blocks_list, kernel_size,
                 stride, groups_width, n_classes, use_bn=True, use_do=True, return_features=False):
        super().__init__()
        self.use_bn, self.return_features = use_bn, return_features
        self.first_conv = MyConv1dPadSame(in_channels, base_filters, kernel_size, 2)
        self.first_bn = nn.BatchNorm1d(base_filters)
        self.first_activation = Swish()
        self.stage_list = nn.ModuleList()
        in_channels = base_filters
        for i_stage, (width, blocks) in enumerate(zip(filter_list, m_blocks_list)):
            self.stage_list.append(BasicStage(in_channels, width, ratio, kernel_size, stride,
                                              width // groups_width, i_stage, blocks, use_bn,
                                              use_do))
            in_channels = width
        self.dense = nn.Linear(in_channels, n_classes)

    def forward(self, x):
        out = self.first_conv(x)
        if self.use_bn:
            out = self.first_bn(out)
        out = self.first_activation(out)
        for stage in self.stage_list:
            out = stage(out)
        features = out.mean(-1)
        logits = self.dense(features)
        return (logits, features) if self.return_features else logits


def released_net1d(in_channels: int, n_classes: int = 150) -> Net1D:
    """The ECGFounder configuration (``ft_ECGFounder``), returning (logits, features)."""
    return Net1D(in_channels=in_channels, base_filters=64, ratio=1,
                 filter_list=[64, 160, 160, 400, 400, 1024, 1024],
                 m_blocks_list=[2, 2, 2, 3, 3, 4, 4], kernel_size=16, stride=2, groups_width=16,
                 n_classes=n_classes, use_bn=False, use_do=False, return_features=True)
