"""Experiments built from several runs: the strategy race."""

from .backbones import get_spec
from .catalog import trainable_parameters
from .config import ALL_STAGES, TrainConfig

FULL_FINE_TUNE_LR_SCALE = 0.1  # fine-tuning every stage at the probe's learning rate wrecks the features


def race_configs(base: TrainConfig, partial_frozen: int | None = None) -> dict[str, TrainConfig]:
    """The same target task (data, sizes, seed, epochs, shifted copy) under every strategy.

    Only what makes a strategy differs between the configs; `partial_frozen` is how many stages the
    partial fine-tune freezes (by default half of them)."""
    stages = get_spec(base.backbone).num_stages
    k = stages // 2 if partial_frozen is None else partial_frozen
    probe = base.replace(strategy="copy", weights="imagenet", frozen_stages=ALL_STAGES)
    fine_lr = base.lr * FULL_FINE_TUNE_LR_SCALE
    return {
        "from scratch": base.replace(strategy="scratch", weights="random", frozen_stages=0),
        "linear probe": probe,
        f"partial fine-tune ({k} frozen)": probe.replace(frozen_stages=k, lr=fine_lr),
        "full fine-tune": probe.replace(frozen_stages=0, lr=fine_lr),
        "LP-FT": probe.replace(strategy="lpft", probe_epochs=max(1, base.epochs // 2)),
        "feature fusion": probe.replace(strategy="fusion"),
    }


def trained_parameters(config: TrainConfig, num_classes: int) -> int:
    """Parameters that train by the end of the run (LP-FT unfreezes everything for its second phase)."""
    if config.strategy == "lpft":
        config = config.replace(strategy="copy", frozen_stages=0)
    return trainable_parameters(config, num_classes)[0]
