"""What this machine offers (device, backbones, datasets) and what a model costs, as plain rows.
Nothing here touches the network."""

from collections.abc import Callable
from functools import lru_cache

import numpy as np
import torch

from transfer_core.config import ALL_STAGES, FOLDER_PREFIX, MINE_PREFIX, TrainConfig
from transfer_core.data.registry import DATASETS, dataset_available
from transfer_core.models.backbones import get_spec
from transfer_core.models.strategies import build_model
from transfer_core.words.word_lists import MAX_LETTERS

# The engine's sentences about a setup, in English; a page passes `say` to have them in its language
# (the string tables' [setup] section has these keys; a test keeps the two the same in English).
SETUP_WORDS = {
    "random": "random weights",
    "yours": "your weights '{name}'",
    "source": "its source weights (language ID over 6 languages)",
    "imagenet": "ImageNet weights",
    "scratch": "from scratch, every stage trains",
    "lpft": "LP-FT: a linear probe for {epochs} epochs, then every stage fine-tuned at {scale} x the learning rate",
    "fusion_frozen": "frozen",
    "fusion_partial": "{frozen} of {stages} stages frozen, the rest fine-tuned",
    "fusion": "feature fusion ({mode}): the source ({kept}) beside a small new branch",
    "probe": "a linear probe",
    "full": "full fine-tuning",
    "partial": "partial fine-tuning",
    "copy": "feature copy, {frozen} of {stages} stages frozen ({kind})",
    "config": "{title} with {source} → {dataset}, {how}; {sizes}",
    "task": "{title} with {source} → {dataset}; {sizes}",
    "word_sizes": "{per_class} words per class, {epochs} epochs, lr {lr}",
    "image_sizes": "{per_class} images per class, {epochs} epochs, lr {lr}, {size} px",
    "device_cpu": "CPU ({threads} threads)",
    "device_cuda": "CUDA: {name}",
    "device_ray": "Ray cluster: {machines} machine(s), {cpus:g} CPUs, {gpus:g} GPUs",
    "dataset_mine": "your data '{name}'",
    "dataset_folder": "the folder {path}",
    **{f"dataset_{name}": info.title for name, info in DATASETS.items()},
}
Say = Callable[..., str]


def english(key: str, **values) -> str:
    return SETUP_WORDS[key].format(**values)


def cuda_available() -> bool:
    return torch.cuda.is_available()


def device_summary(say: Say = english) -> str:
    if torch.cuda.is_available():
        return say("device_cuda", name=torch.cuda.get_device_name(0))
    return say("device_cpu", threads=torch.get_num_threads())


def dataset_rows(say: Say = english) -> list[dict]:
    rows = []
    for info in DATASETS.values():
        available, why = dataset_available(info.name)
        rows.append({"dataset": info.name, "title": dataset_words(info.name, say), "available": available,
                     "source": why})  # fmt: skip
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


def starting_weights_words(config: TrainConfig, say: Say = english) -> str:
    """Where the run's starting weights come from, in words."""
    if config.strategy == "scratch" or config.weights == "random":
        return say("random")
    if config.weights.startswith(MINE_PREFIX):
        return say("yours", name=config.weights.removeprefix(MINE_PREFIX))
    if get_spec(config.backbone).reads == "words":
        return say("source")
    return say("imagenet")


def dataset_words(name: str, say: Say = english) -> str:
    """A dataset as a learner names it: its title, not the id a config stores."""
    if name in DATASETS:
        return say(f"dataset_{name}")
    if name.startswith(MINE_PREFIX):
        return say("dataset_mine", name=name.removeprefix(MINE_PREFIX))
    if name.startswith(FOLDER_PREFIX):
        return say("dataset_folder", path=name.removeprefix(FOLDER_PREFIX))
    return name


def describe_config(config: TrainConfig, say: Say = english) -> str:
    """One sentence a learner can read: what transfers, from where, to what."""
    spec = get_spec(config.backbone)
    frozen, stages = frozen_stage_count(config), spec.num_stages
    if config.strategy == "scratch":
        how = say("scratch")
    elif config.strategy == "lpft":
        how = say("lpft", epochs=config.probe_epochs, scale=f"{config.finetune_lr_scale:g}")
    elif config.strategy == "fusion":  # the source's unfrozen stages train alongside the new branch
        kept = say("fusion_frozen") if frozen == stages else say("fusion_partial", frozen=frozen, stages=stages)
        how = say("fusion", mode=config.fusion_mode, kept=kept)
    else:
        kind = say("probe") if frozen == stages else say("full") if frozen == 0 else say("partial")
        how = say("copy", frozen=frozen, stages=stages, kind=kind)
    source = starting_weights_words(config, say)
    return say("config", title=spec.title, source=source, dataset=dataset_words(config.dataset, say), how=how,
               sizes=task_sizes(config, say))  # fmt: skip


def describe_task(config: TrainConfig, say: Say = english) -> str:
    """The task a race runs every strategy on: where from, to what, how much, for how long."""
    spec = get_spec(config.backbone)
    source = starting_weights_words(config, say)
    dataset = dataset_words(config.dataset, say)
    return say("task", title=spec.title, source=source, dataset=dataset, sizes=task_sizes(config, say))


def task_sizes(config: TrainConfig, say: Say = english) -> str:
    values = {"per_class": config.train_per_class, "epochs": config.epochs, "lr": f"{config.lr:g}"}
    if get_spec(config.backbone).reads == "words":  # words have no size in pixels
        return say("word_sizes", **values)
    return say("image_sizes", size=config.image_size, **values)


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
