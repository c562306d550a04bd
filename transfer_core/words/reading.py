"""How a trained word model reads a word, letter by letter: the class probabilities after each prefix
of the word, and the last encoder stage's state h_t at each letter (the article's recurrence made
visible: each column of the heat map is h_t, computed from h_{t-1} and the letter x_t)."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from transfer_core.models.backbones import build_backbone, get_spec
from transfer_core.models.own_sources import source_head
from transfer_core.models.strategies import TransferModel
from transfer_core.words.word_lists import MAX_LETTERS, encode


@dataclass(frozen=True)
class WordReading:
    letters: list[str]  # the word's letters, as read (at most MAX_LETTERS)
    probabilities: np.ndarray  # (letters, classes): the prediction after reading the word up to each letter
    states: np.ndarray  # (letters, units): the last stage's state at each letter of the whole word


@torch.no_grad()
def read_word(model: TransferModel, word: str) -> WordReading:
    letters = list(word.lower()[:MAX_LETTERS])
    model.eval()
    prefixes = torch.from_numpy(np.stack([encode("".join(letters[: t + 1])) for t in range(len(letters))]))
    probabilities = torch.softmax(model(prefixes).float(), 1).numpy()
    x = torch.from_numpy(encode("".join(letters)))[None]
    for stage in model.stages.values():
        x = stage(x)  # (1, MAX_LETTERS, units): left-padded, so the word's letters are the last positions
    return WordReading(letters, probabilities, x[0, -len(letters) :].numpy())


def reading_frame(reading: WordReading, classes: list[str]) -> pd.DataFrame:
    """Long rows for a chart: after the t-th letter ("sau…"), the probability of each class."""
    rows = []
    for t, probabilities in enumerate(reading.probabilities):
        read = "".join(reading.letters[: t + 1])
        rows += [
            {"read so far": read, "class": name, "probability": float(p)} for name, p in zip(classes, probabilities)
        ]
    return pd.DataFrame(rows)


def source_reader(backbone: str = "word_gru") -> tuple[TransferModel, list[str]]:
    """The encoder as its source task left it, with its head: it names which source language a word is."""
    head, classes = source_head(backbone)
    model = TransferModel(
        build_backbone(backbone, pretrained=True), len(classes), frozen=len(get_spec(backbone).stage_names)
    )
    model.head.load_state_dict(head)
    return model.eval(), classes
