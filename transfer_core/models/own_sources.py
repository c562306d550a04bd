"""Where the lab's own encoders' pretrained weights are read from: the files their source tasks left.

The word encoders learned language identification (words/source_task.py), the speech CNN spoken
command words (sound/source_task.py). Their files ship in assets/ (each source task's module rebuilds
them); a checkout without them reads a copy built into the data folder. Reading never trains anything.
"""

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file

from transfer_core import settings
from transfer_core.errors import WeightsUnavailable
from transfer_core.messages import say
from transfer_core.settings import ASSETS

SHIPPED = ASSETS  # each encoder's file lies in its source's folder here
SOURCE_FOLDERS = {"word_gru": "word_source", "word_cnn": "word_source", "speech_cnn": "sound_source"}
REBUILD = {"word_source": "transfer_core.words.source_task", "sound_source": "transfer_core.sound.source_task"}


def shipped_file(backbone: str) -> Path:
    return SHIPPED / SOURCE_FOLDERS[backbone] / f"{backbone}.safetensors"


def source_file(backbone: str) -> Path:
    shipped = shipped_file(backbone)
    folder = SOURCE_FOLDERS[backbone]
    return shipped if shipped.exists() else settings.current().data_dir / folder / f"{backbone}.safetensors"


def source_state(backbone: str) -> dict[str, torch.Tensor]:
    """The encoder's pretrained stages, keyed as a StagedBackbone names them (stages.<stage>.<tensor>)."""
    return {key: value for key, value in _source(backbone).items() if key.startswith("stages.")}


def source_head(backbone: str) -> tuple[dict[str, torch.Tensor], list[str]]:
    """The source task's head (weight, bias) and its classes."""
    head = {key.removeprefix("head."): value for key, value in _source(backbone).items() if key.startswith("head.")}
    with safe_open(source_file(backbone), "pt") as f:
        return head, json.loads(f.metadata()["classes"])


def _source(backbone: str) -> dict[str, torch.Tensor]:
    file = source_file(backbone)
    if not file.exists():
        module = REBUILD[SOURCE_FOLDERS[backbone]]
        sentence = (
            "the source weights of {backbone} are not here: build them once with `.venv/bin/python -m {module} "
            "{backbone}` (a few minutes at most), or choose random weights."
        )
        raise WeightsUnavailable(say("weights.own_missing", sentence, backbone=backbone, module=module))
    return load_file(file)
