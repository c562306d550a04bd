"""Training one of the lab's own encoders on its source task and writing the file its runs read
(`own_sources.py`): the word encoders' and the speech CNN's source tasks both build their files here."""

import json
from pathlib import Path

from safetensors.torch import save_file

from transfer_core.config import TrainConfig
from transfer_core.train import Done, Failed, train


def build_source(task: TrainConfig, file: Path, classes: list[str], description: str) -> float:
    """Trains `task` (from scratch) and saves its stages and head to `file`; returns the validation accuracy."""
    final = None
    for event in train(task, record=False):
        if isinstance(event, Failed):
            raise RuntimeError(f"building the {task.backbone} source failed: {event.message}")
        if isinstance(event, Done):
            final = event
    # The stages are what transfers; the head is kept too, so a page can show the source's own answers.
    state = {k: v.contiguous() for k, v in final.weights.state_dict().items() if k.startswith(("stages.", "head."))}
    file.parent.mkdir(parents=True, exist_ok=True)
    partial = file.with_suffix(".partial")
    metadata = {"task": description, "classes": json.dumps(classes), "accuracy": f"{final.metrics.val_acc:.4f}"}
    save_file(state, str(partial), metadata=metadata)
    partial.replace(file)  # whole or not at all: a half-written source is never read
    return final.metrics.val_acc
