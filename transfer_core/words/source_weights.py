"""Where the word encoders' pretrained weights are read from: the files their source task left.

They ship in assets/word_source (built by `python -m transfer_core.words.source_task`, see that module);
a checkout without them reads a copy built into the data folder. Reading never trains anything.
"""

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file

from transfer_core import settings
from transfer_core.errors import WeightsUnavailable
from transfer_core.settings import ASSETS

SHIPPED = ASSETS / "word_source"


def source_file(backbone: str) -> Path:
    shipped = SHIPPED / f"{backbone}.safetensors"
    return shipped if shipped.exists() else settings.current().data_dir / "word_source" / f"{backbone}.safetensors"


def source_state(backbone: str) -> dict[str, torch.Tensor]:
    """The encoder's pretrained stages, keyed as a StagedBackbone names them (stages.<stage>.<tensor>)."""
    return {key: value for key, value in _source(backbone).items() if key.startswith("stages.")}


def source_head(backbone: str) -> tuple[dict[str, torch.Tensor], list[str]]:
    """The source task's head (weight, bias) and its classes: the six source languages."""
    head = {key.removeprefix("head."): value for key, value in _source(backbone).items() if key.startswith("head.")}
    with safe_open(source_file(backbone), "pt") as f:
        return head, json.loads(f.metadata()["classes"])


def _source(backbone: str) -> dict[str, torch.Tensor]:
    file = source_file(backbone)
    if not file.exists():
        raise WeightsUnavailable(
            f"the source weights of {backbone} are not here: build them once with `.venv/bin/python -m "
            f"transfer_core.words.source_task {backbone}` (under a minute), or choose weights=random."
        )
    return load_file(file)
