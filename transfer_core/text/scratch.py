"""A small text network with no pretraining, over the same WordPiece tokens as MiniLM: the from-scratch
baseline for sentences (and feature fusion's trainable branch beside a frozen MiniLM). The word encoders'
1-D convolutions, over word pieces instead of letters."""

from functools import partial

from torch import nn

from transfer_core.models.sequence_encoders import WordBranch, conv_stages
from transfer_core.text.minilm import VOCABULARY

EMBED = 64
WIDTHS = (128, 128)


def text_cnn_stages() -> dict[str, nn.Module]:
    """Token embeddings, then 1-D convolutions over three tokens at a time; features: each channel's maximum."""
    return conv_stages(WIDTHS, EMBED, VOCABULARY)


TextBranch = partial(WordBranch, width=64, embed=32, vocabulary=VOCABULARY)
