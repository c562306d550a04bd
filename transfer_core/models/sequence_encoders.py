"""Character-level encoders for words, staged like the image backbones so every strategy applies.

A word comes in as MAX_LETTERS tokens (padded on the left). Each stage maps (B, L, C) to (B, L, C'):
the embedding, then stacked recurrent layers (each its own stage, so "freeze the first k stages" freezes
the first k layers), or 1-D convolutions. The features are the final hidden state h_T of the last
recurrent layer, h_t = tanh-like(W_hh h_{t-1} + W_xh x_t + b) in a GRU's gated form; for the
convolutional encoder, each channel's maximum over the letters.
"""

import torch
from torch import nn

from transfer_core.words.word_lists import PAD, VOCABULARY

EMBED = 32
HIDDEN = 128
GRU_LAYERS = 2
CONV_WIDTHS = (128, 128)
BRANCH_WIDTH = 48  # the small trainable word encoder beside a frozen source, in feature fusion


class Embed(nn.Module):
    """Token ids to vectors; `vocabulary`: letters for words, WordPiece pieces for sentences (padding 0 in both)."""

    def __init__(self, dim: int = EMBED, vocabulary: int = VOCABULARY):
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, dim, padding_idx=PAD)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.embedding(tokens)  # (B, L) -> (B, L, dim)


class RecurrentLayer(nn.Module):
    """One GRU layer: the whole sequence of hidden states h_1 .. h_T, (B, L, hidden)."""

    def __init__(self, inputs: int, hidden: int = HIDDEN):
        super().__init__()
        self.gru = nn.GRU(inputs, hidden, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.gru(x)[0]


class ConvLayer(nn.Module):
    """A 1-D convolution over the letters (three at a time) and a ReLU, keeping the length."""

    def __init__(self, inputs: int, width: int):
        super().__init__()
        self.conv = nn.Conv1d(inputs, width, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(x.transpose(1, 2))).transpose(1, 2)


def last_state(x: torch.Tensor) -> torch.Tensor:
    """(B, L, C) -> (B, C): the state after the word's last letter (words are padded on the left)."""
    return x[:, -1, :]


def max_over_letters(x: torch.Tensor) -> torch.Tensor:
    return x.max(dim=1).values


def gru_stages() -> dict[str, nn.Module]:
    stages: dict[str, nn.Module] = {"embed": Embed()}
    inputs = EMBED
    for i in range(1, GRU_LAYERS + 1):
        stages[f"gru{i}"] = RecurrentLayer(inputs)
        inputs = HIDDEN
    return stages


def conv_stages(
    widths: tuple[int, ...] = CONV_WIDTHS, embed: int = EMBED, vocabulary: int = VOCABULARY
) -> dict[str, nn.Module]:
    stages: dict[str, nn.Module] = {"embed": Embed(embed, vocabulary)}
    inputs = embed
    for i, width in enumerate(widths, start=1):
        stages[f"conv{i}"] = ConvLayer(inputs, width)
        inputs = width
    return stages


class WordBranch(nn.Module):
    """Feature fusion's small trainable word encoder: the same idea as the image branch, on letters (or, with
    a sentence tokenizer's vocabulary, on word pieces)."""

    def __init__(self, width: int = BRANCH_WIDTH, embed: int = 16, vocabulary: int = VOCABULARY):
        super().__init__()
        self.stages = nn.Sequential(*conv_stages((width,), embed, vocabulary).values())
        self.feature_dim = width

    def forward_features(self, tokens: torch.Tensor) -> torch.Tensor:
        return max_over_letters(self.stages(tokens))
