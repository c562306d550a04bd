"""A small text network with no pretraining, over the same WordPiece tokens as MiniLM: the from-scratch
baseline for sentences (and feature fusion's trainable branch beside a frozen MiniLM)."""

import torch
from torch import nn

from transfer_core.models.sequence_encoders import ConvLayer, max_over_letters
from transfer_core.text.minilm import VOCABULARY

EMBED = 64
WIDTHS = (128, 128)
BRANCH_WIDTH = 64


class TokenEmbed(nn.Module):
    def __init__(self, dim: int = EMBED):
        super().__init__()
        self.embedding = nn.Embedding(VOCABULARY, dim, padding_idx=0)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.embedding(tokens)  # (B, L) -> (B, L, dim)


def text_cnn_stages(widths: tuple[int, ...] = WIDTHS, embed: int = EMBED) -> dict[str, nn.Module]:
    """Token embeddings, then 1-D convolutions over three tokens at a time; features: each channel's maximum."""
    stages: dict[str, nn.Module] = {"embed": TokenEmbed(embed)}
    inputs = embed
    for i, width in enumerate(widths, start=1):
        stages[f"conv{i}"] = ConvLayer(inputs, width)
        inputs = width
    return stages


class TextBranch(nn.Module):
    """Feature fusion's small trainable text encoder beside the frozen source."""

    def __init__(self):
        super().__init__()
        self.stages = nn.Sequential(*text_cnn_stages((BRANCH_WIDTH,), embed=32).values())
        self.feature_dim = BRANCH_WIDTH

    def forward_features(self, tokens: torch.Tensor) -> torch.Tensor:
        return max_over_letters(self.stages(tokens))
