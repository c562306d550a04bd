"""Where the word encoders' pretrained weights are read from: the files their source task left.

They ship in assets/word_source (built by `python -m transfer_core.word_source`, see that module);
a checkout without them reads a copy built into the data folder. Reading never trains anything.
"""

from pathlib import Path

import torch
from safetensors.torch import load_file

from . import paths
from .errors import WeightsUnavailable

SHIPPED = Path(__file__).parents[1] / "assets" / "word_source"


def source_file(backbone: str) -> Path:
    shipped = SHIPPED / f"{backbone}.safetensors"
    return shipped if shipped.exists() else paths.data_dir() / "word_source" / f"{backbone}.safetensors"


def source_state(backbone: str) -> dict[str, torch.Tensor]:
    """The encoder's pretrained stages, keyed as a StagedBackbone names them (stages.<stage>.<tensor>)."""
    file = source_file(backbone)
    if not file.exists():
        raise WeightsUnavailable(
            f"the source weights of {backbone} are not here: build them once with "
            f"`.venv/bin/python -m transfer_core.word_source {backbone}` (under a minute), or choose weights=random."
        )
    return load_file(file)
