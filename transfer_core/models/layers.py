"""Building blocks shared by the lab's own convolutional networks (the small CNN, the speech encoder,
the fusion branches)."""

import torch
from torch import nn


def conv_block(in_ch: int, out_ch: int) -> nn.Sequential:
    """conv-BN-ReLU twice, then halve the resolution."""
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_ch),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


def pool_features(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, C): the global average."""
    return torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)
