"""The speech CNN's pretrained source: which of ten command words a synthetic speaker said.

As ImageNet is for the image backbones, this is the task the speech CNN learned before any learner's
transfer: "yes", "no", "up", "down", "left", "right", "on", "off", "stop" or "go", said by 24 synthetic
speakers (4 accents x 6 voice variants, see speech.py). It is trained by the lab itself, with the lab's
own training loop, from a fixed seed:

    .venv/bin/python -m transfer_core.sound.source_task       # rebuilds assets/sound_source/speech_cnn.safetensors

The file ships in the repository (about 1 MB), so every run reads it and none trains it again.
"""

import json
import sys
import time
from pathlib import Path

from safetensors.torch import save_file

from transfer_core.config import TrainConfig
from transfer_core.models.own_sources import shipped_file
from transfer_core.sound.speech import SPEECH_SETS
from transfer_core.train import Done, Failed, train

SOURCE_TASK = TrainConfig(dataset="speech_source", backbone="speech_cnn", strategy="scratch", weights="random",
                          train_per_class=100, val_per_class=20, epochs=12, batch_size=64, lr=3e-3, seed=0,
                          device="cpu")  # fmt: skip
SOURCE_DESCRIPTION = "spoken command words (yes, no, up, down, left, right, on, off, stop, go), synthetic speakers"


def build_source(file: Path) -> float:
    """Trains the speech CNN from scratch on the source task and saves it; returns the accuracy."""
    final = None
    for event in train(SOURCE_TASK, record=False):
        if isinstance(event, Failed):
            raise RuntimeError(f"building the speech_cnn source failed: {event.message}")
        if isinstance(event, Done):
            final = event
    state = {k: v.contiguous() for k, v in final.weights.state_dict().items() if k.startswith(("stages.", "head."))}
    file.parent.mkdir(parents=True, exist_ok=True)
    partial = file.with_suffix(".partial")
    classes = json.dumps(list(SPEECH_SETS[SOURCE_TASK.dataset].words))
    metadata = {"task": SOURCE_DESCRIPTION, "classes": classes, "accuracy": f"{final.metrics.val_acc:.4f}"}
    save_file(state, str(partial), metadata=metadata)
    partial.replace(file)  # whole or not at all: a half-written source is never read
    return final.metrics.val_acc


if __name__ == "__main__":
    for name in sys.argv[1:] or ["speech_cnn"]:
        if name != "speech_cnn":
            sys.exit(f"the sound source task builds speech_cnn only, not {name}")
        started = time.monotonic()
        accuracy = build_source(shipped_file(name))
        print(f"{name}: source validation accuracy {accuracy:.3f} in {time.monotonic() - started:.0f} s")
