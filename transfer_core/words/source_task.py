"""The word encoders' pretrained source: language identification over the six source languages.

As ImageNet is for the image backbones, this is the task the word encoders learned before any
learner's transfer: which of English, German, French, Spanish, Italian and Dutch a word is. It is
trained by the lab itself, with the lab's own training loop, from a fixed seed:

    .venv/bin/python -m transfer_core.words.source_task        # rebuilds assets/word_source/*.safetensors

The files ship in the repository (a few hundred kB each), so every run reads them and none trains
them again (`models/own_sources` reads them). `build_source` with a data-folder file builds a copy for a
checkout without them.
"""

import sys
import time
from pathlib import Path

from transfer_core.config import TrainConfig
from transfer_core.data.registry import WORD_SETS
from transfer_core.models.own_sources import shipped_file
from transfer_core.models.source_training import build_source as train_source

SOURCE_TASK = TrainConfig(dataset="words_source", strategy="scratch", weights="random", train_per_class=6000,
                          val_per_class=1000, epochs=10, batch_size=128, lr=3e-3, image_size=32, seed=0)  # fmt: skip
SOURCE_DESCRIPTION = "language identification over English, German, French, Spanish, Italian and Dutch words"


def build_source(backbone: str, file: Path) -> float:
    """Trains the encoder from scratch on the source task and saves it; returns the accuracy."""
    classes = list(WORD_SETS[SOURCE_TASK.dataset])
    return train_source(SOURCE_TASK.replace(backbone=backbone), file, classes, SOURCE_DESCRIPTION)


if __name__ == "__main__":
    for name in sys.argv[1:] or ["word_gru", "word_cnn"]:
        started = time.monotonic()
        accuracy = build_source(name, shipped_file(name))
        print(f"{name}: source validation accuracy {accuracy:.3f} in {time.monotonic() - started:.0f} s")
