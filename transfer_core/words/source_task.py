"""The word encoders' pretrained source: language identification over the six source languages.

As ImageNet is for the image backbones, this is the task the word encoders learned before any
learner's transfer: which of English, German, French, Spanish, Italian and Dutch a word is. It is
trained by the lab itself, with the lab's own training loop, from a fixed seed:

    .venv/bin/python -m transfer_core.words.source_task        # rebuilds assets/word_source/*.safetensors

The files ship in the repository (a few hundred kB each), so every run reads them and none trains
them again (`models/own_sources` reads them). `build_source` with a data-folder file builds a copy for a
checkout without them.
"""

import json
import sys
import time
from pathlib import Path

from safetensors.torch import save_file

from transfer_core.config import TrainConfig
from transfer_core.data.registry import WORD_SETS
from transfer_core.models.own_sources import shipped_file
from transfer_core.train import Done, Failed, train

SOURCE_TASK = TrainConfig(dataset="words_source", strategy="scratch", weights="random", train_per_class=6000,
                          val_per_class=1000, epochs=10, batch_size=128, lr=3e-3, image_size=32, seed=0)  # fmt: skip
SOURCE_DESCRIPTION = "language identification over English, German, French, Spanish, Italian and Dutch words"


def build_source(backbone: str, file: Path) -> float:
    """Trains the encoder from scratch on the source task and saves its stages; returns the accuracy."""
    final = None
    for event in train(SOURCE_TASK.replace(backbone=backbone), record=False):
        if isinstance(event, Failed):
            raise RuntimeError(f"building the {backbone} source failed: {event.message}")
        if isinstance(event, Done):
            final = event
    # The stages are what transfers; the head is kept too, so a lesson can show the source reading a word.
    state = {k: v.contiguous() for k, v in final.weights.state_dict().items() if k.startswith(("stages.", "head."))}
    file.parent.mkdir(parents=True, exist_ok=True)
    partial = file.with_suffix(".partial")
    classes = json.dumps(list(WORD_SETS[SOURCE_TASK.dataset]))
    metadata = {"task": SOURCE_DESCRIPTION, "classes": classes, "accuracy": f"{final.metrics.val_acc:.4f}"}
    save_file(state, str(partial), metadata=metadata)
    partial.replace(file)  # whole or not at all: a half-written source is never read
    return final.metrics.val_acc


if __name__ == "__main__":
    for name in sys.argv[1:] or ["word_gru", "word_cnn"]:
        started = time.monotonic()
        accuracy = build_source(name, shipped_file(name))
        print(f"{name}: source validation accuracy {accuracy:.3f} in {time.monotonic() - started:.0f} s")
