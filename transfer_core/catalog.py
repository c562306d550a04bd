"""Plain tables of what this machine offers: device, backbones, datasets. Never touches the network."""

import torch

from .backbones import BACKBONES
from .data import DATASETS, dataset_available
from .weights import weights_available


def device_summary() -> str:
    if torch.cuda.is_available():
        return f"CUDA: {torch.cuda.get_device_name(0)}"
    return f"CPU ({torch.get_num_threads()} threads)"


def backbone_rows() -> list[dict]:
    rows = []
    for spec in BACKBONES.values():
        available, why = weights_available(spec.name) if spec.has_pretrained else (False, spec.weights_source)
        rows.append(
            {
                "backbone": spec.name,
                "title": spec.title,
                "stages": spec.num_stages,
                "features": spec.feature_dim,
                "input px": spec.preprocessing.input_size,
                "pretrained offline": available,
                "weights": why if not available else spec.weights_source,
            }
        )
    return rows


def dataset_rows() -> list[dict]:
    rows = []
    for info in DATASETS.values():
        available, why = dataset_available(info.name)
        rows.append({"dataset": info.name, "title": info.title, "available": available, "source": why})
    return rows
