"""What this machine offers (device, backbones, datasets) and what a model costs, as plain rows.
Nothing here touches the network."""

from functools import lru_cache

import numpy as np
import torch

from .backbones import get_spec
from .config import ALL_STAGES, MINE_PREFIX, TrainConfig
from .data import DATASETS, dataset_available
from .strategies import build_model
from .words import MAX_LETTERS


def cuda_available() -> bool:
    return torch.cuda.is_available()


def device_summary() -> str:
    if torch.cuda.is_available():
        return f"CUDA: {torch.cuda.get_device_name(0)}"
    return f"CPU ({torch.get_num_threads()} threads)"


def dataset_rows() -> list[dict]:
    rows = []
    for info in DATASETS.values():
        available, why = dataset_available(info.name)
        rows.append({"dataset": info.name, "title": info.title, "available": available, "source": why})
    return rows


@lru_cache(maxsize=16)
def stage_table(backbone: str, image_size: int) -> tuple[dict, ...]:
    """Per stage: its output shape for one image of `image_size` (or one word) and its parameter count."""
    spec = get_spec(backbone)
    staged = spec.to_staged(spec.build_raw()).eval()
    words = spec.reads == "words"
    x = torch.zeros(1, MAX_LETTERS, dtype=torch.int64) if words else torch.zeros(1, 3, image_size, image_size)
    column = "output (letters x units)" if words else "output (C x H x W)"
    rows = []
    with torch.no_grad():
        for name, stage in staged.stages.items():
            x = stage(x)
            shape = " x ".join(str(d) for d in x.shape[1:])
            rows.append({"stage": name, column: shape, "parameters": _count(stage)})
    return tuple(rows)


@lru_cache(maxsize=32)
def parameter_budget(backbone: str, strategy: str, fusion_mode: str, num_classes: int) -> tuple[tuple[int, ...], int]:
    """Parameters per backbone stage, and of everything after the stages (head, fusion branch)."""
    config = TrainConfig(backbone=backbone, weights="random", strategy=strategy, fusion_mode=fusion_mode)
    model = build_model(config, num_classes)
    after = model.fusion if model.fusion is not None else model.head
    return tuple(_count(stage) for stage in model.stages.values()), _count(after)


def trainable_parameters(config: TrainConfig, num_classes: int) -> tuple[int, int]:
    """(trainable, total) for the model `config` describes, without building it again."""
    per_stage, after = parameter_budget(config.backbone, config.strategy, config.fusion_mode, num_classes)
    frozen = frozen_stage_count(config)
    return sum(per_stage[frozen:]) + after, sum(per_stage) + after


def frozen_stage_count(config: TrainConfig) -> int:
    """Stages frozen at the start (LP-FT unfreezes them all after its probing epochs)."""
    if config.strategy == "scratch":
        return 0
    stages = get_spec(config.backbone).num_stages
    return stages if config.frozen_stages == ALL_STAGES or config.strategy == "lpft" else config.frozen_stages


def starting_weights_words(config: TrainConfig) -> str:
    """Where the run's starting weights come from, in words."""
    if config.strategy == "scratch" or config.weights == "random":
        return "random weights"
    if config.weights.startswith(MINE_PREFIX):
        return f"your weights {config.weights.removeprefix(MINE_PREFIX)!r}"
    if get_spec(config.backbone).reads == "words":
        return "its source weights (language ID over 6 languages)"
    return "ImageNet weights"


def describe_config(config: TrainConfig) -> str:
    """One sentence a learner can read: what transfers, from where, to what."""
    spec = get_spec(config.backbone)
    source = starting_weights_words(config)
    frozen = frozen_stage_count(config)
    if config.strategy == "scratch":
        how = "from scratch, every stage trains"
    elif config.strategy == "lpft":
        how = (
            f"LP-FT: a linear probe for {config.probe_epochs} epochs, then every stage fine-tuned "
            f"at {config.finetune_lr_scale:g} x the learning rate"
        )
    elif config.strategy == "fusion":  # the source's unfrozen stages train alongside the new branch
        kept = (
            "frozen"
            if frozen == spec.num_stages
            else f"{frozen} of {spec.num_stages} stages frozen, the rest fine-tuned"
        )
        how = f"feature fusion ({config.fusion_mode}): the source ({kept}) beside a small new branch"
    else:
        kind = (
            "a linear probe"
            if frozen == spec.num_stages
            else "full fine-tuning"
            if frozen == 0
            else "partial fine-tuning"
        )
        how = f"feature copy, {frozen} of {spec.num_stages} stages frozen ({kind})"
    return f"{spec.title} with {source} → {config.dataset}, {how}; {task_sizes(config)}"


def describe_task(config: TrainConfig) -> str:
    """The task a race runs every strategy on: where from, to what, how much, for how long."""
    spec = get_spec(config.backbone)
    return f"{spec.title} with {starting_weights_words(config)} → {config.dataset}; {task_sizes(config)}"


def task_sizes(config: TrainConfig) -> str:
    if get_spec(config.backbone).reads == "words":  # words have no size in pixels
        return f"{config.train_per_class} words per class, {config.epochs} epochs, lr {config.lr:g}"
    return (
        f"{config.train_per_class} images per class, {config.epochs} epochs, lr {config.lr:g}, {config.image_size} px"
    )


def sample_photos() -> dict[str, np.ndarray]:
    """Ordinary photos that ship with scikit-learn and scikit-image, with their real subjects."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images
    return {
        "cat (scikit-image)": skimage.data.chelsea(),
        "coffee (scikit-image)": skimage.data.coffee(),
        "palace (scikit-learn)": china,
        "flower (scikit-learn)": flower,
        "rocket (scikit-image)": skimage.data.rocket(),
    }


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
