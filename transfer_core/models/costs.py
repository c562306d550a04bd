"""What a model costs, per stage: the shape each stage's output takes and the parameters it holds, and
how many of them a run trains. Counted on a model built once per backbone and strategy."""

from functools import lru_cache

import torch

from transfer_core.config import TrainConfig
from transfer_core.models.backbones import get_spec
from transfer_core.models.sound_encoders import silence
from transfer_core.models.strategies import build_model
from transfer_core.text.minilm import TOKENS
from transfer_core.words.word_lists import MAX_LETTERS


@lru_cache(maxsize=16)
def stage_table(backbone: str, image_size: int) -> tuple[dict, ...]:
    """Per stage: its output shape for one image of `image_size` (or one word) and its parameter count."""
    spec = get_spec(backbone)
    staged = spec.to_staged(spec.build_raw()).eval()
    inputs = {"words": torch.zeros(1, MAX_LETTERS, dtype=torch.int64), "sound": silence(1),
              "text": torch.ones(1, TOKENS, dtype=torch.int64)}  # fmt: skip
    x = inputs.get(spec.reads, torch.zeros(1, 3, image_size, image_size))
    columns = {"words": "output (letters x units)", "text": "output (tokens x units)"}
    column = columns.get(spec.reads, "output (C x H x W)")
    rows = []
    with torch.no_grad():
        for name, stage in staged.stages.items():
            x = stage(x)
            shape = list(x.shape[1:])
            shape[-1] -= getattr(stage, "carried_channels", 0)  # channels a stage passes along that are no units
            shape = " x ".join(str(d) for d in shape)
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
    """Stages frozen when the run starts, counted on its backbone (see TrainConfig.frozen_at_start)."""
    return config.frozen_at_start(get_spec(config.backbone).num_stages)


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
