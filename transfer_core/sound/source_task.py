"""The speech CNN's pretrained source: which of ten command words a synthetic speaker said.

As ImageNet is for the image backbones, this is the task the speech CNN learned before any learner's
transfer: "yes", "no", "up", "down", "left", "right", "on", "off", "stop" or "go", said by 24 synthetic
speakers (4 accents x 6 voice variants, see speech.py). It is trained by the lab itself, with the lab's
own training loop, from a fixed seed:

    .venv/bin/python -m transfer_core.sound.source_task       # rebuilds assets/sound_source/speech_cnn.safetensors

The file ships in the repository (about 1 MB), so every run reads it and none trains it again.
"""

import sys
import time
from pathlib import Path

from transfer_core.config import TrainConfig
from transfer_core.models.own_sources import shipped_file
from transfer_core.models.source_training import build_source as train_source
from transfer_core.sound.speech import SPEECH_SETS

SOURCE_TASK = TrainConfig(dataset="speech_source", backbone="speech_cnn", strategy="scratch", weights="random",
                          train_per_class=100, val_per_class=20, epochs=12, batch_size=64, lr=3e-3, seed=0,
                          device="cpu")  # fmt: skip
SOURCE_DESCRIPTION = "spoken command words (yes, no, up, down, left, right, on, off, stop, go), synthetic speakers"


def build_source(file: Path) -> float:
    """Trains the speech CNN from scratch on the source task and saves it; returns the accuracy."""
    return train_source(SOURCE_TASK, file, list(SPEECH_SETS[SOURCE_TASK.dataset].words), SOURCE_DESCRIPTION)


if __name__ == "__main__":
    for name in sys.argv[1:] or ["speech_cnn"]:
        if name != "speech_cnn":
            sys.exit(f"the sound source task builds speech_cnn only, not {name}")
        started = time.monotonic()
        accuracy = build_source(shipped_file(name))
        print(f"{name}: source validation accuracy {accuracy:.3f} in {time.monotonic() - started:.0f} s")
