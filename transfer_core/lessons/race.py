"""Experiments built from several runs: the strategy race."""

from collections.abc import Iterable

from transfer_core.config import ALL_STAGES, MINE_PREFIX, TrainConfig
from transfer_core.lessons.questions import SCRATCH, seeded_label, separated, split_label
from transfer_core.models.backbones import get_spec
from transfer_core.models.costs import trainable_parameters

FULL_FINE_TUNE_LR_SCALE = 0.1  # fine-tuning every stage at the probe's learning rate wrecks the features
# From scratch is the fair baseline the lessons use: its own swept learning rate and twice the epochs
# (bench/baselines.py: 0.69 on lesson 1's task, against 0.52 at the probe's rate and epochs).
SCRATCH_LR, SCRATCH_EPOCHS_SCALE = SCRATCH.lr, 2


def source_weights(base: TrainConfig) -> str | None:
    """What the transfer strategies start from: weights the learner chose of their own, else ImageNet's
    when the backbone has them; None when there is nothing to transfer from."""
    if base.weights.startswith(MINE_PREFIX):
        return base.weights
    return "imagenet" if get_spec(base.backbone).has_pretrained else None


def race_configs(base: TrainConfig, partial_frozen: int | None = None) -> dict[str, TrainConfig]:
    """The same target task (data, sizes, seed, epochs, shifted copy) under every strategy the backbone allows.

    Only what makes a strategy differs between the configs; `partial_frozen` is how many stages the
    partial fine-tune freezes (by default half of them). A backbone without pretrained weights races
    from scratch alone: transferring random features teaches nothing about transfer."""
    fair = {"lr": SCRATCH_LR, "epochs": base.epochs * SCRATCH_EPOCHS_SCALE}
    scratch = {"from scratch": base.replace(strategy="scratch", weights="random", frozen_stages=0, **fair)}
    source = source_weights(base)
    if source is None:
        return scratch
    stages = get_spec(base.backbone).num_stages
    k = stages // 2 if partial_frozen is None else partial_frozen
    probe = base.replace(strategy="copy", weights=source, frozen_stages=ALL_STAGES)
    fine_lr = base.lr * FULL_FINE_TUNE_LR_SCALE
    race = scratch | {
        "linear probe": probe,
        f"partial fine-tune ({k} frozen)": probe.replace(frozen_stages=k, lr=fine_lr),
        "full fine-tune": probe.replace(frozen_stages=0, lr=fine_lr),
        "LP-FT": probe.replace(strategy="lpft", probe_epochs=max(1, base.epochs // 2)) if base.epochs > 1 else None,
        "feature fusion": probe.replace(strategy="fusion"),
    }
    return {label: config for label, config in race.items() if config is not None}  # LP-FT needs two epochs


def seeded_race(race: dict[str, TrainConfig], seeds: Iterable[int]) -> dict[str, TrainConfig]:
    """The race once per seed, seed by seed (every strategy under the first seed lands first). The first
    seed keeps the plain labels; later ones are "linear probe · seed 1", as the lessons label seeds."""
    seeds = list(seeds)
    return {(label if seed == seeds[0] else seeded_label(label, seed)): config.replace(seed=seed)
            for seed in seeds for label, config in race.items()}  # fmt: skip


def race_winner(accuracies: dict[str, float]) -> str:
    """The strategy that beats every other one seed for seed by more than the 95 % interval of the mean
    difference (the lessons' rule), or questions.CLOSE; `accuracies` holds a race's finished runs by label."""
    by_strategy: dict[str, dict[int, float]] = {}
    for label, accuracy in accuracies.items():
        strategy, seed = split_label(label)
        by_strategy.setdefault(strategy, {})[seed] = accuracy
    return separated(by_strategy)


def trained_parameters(config: TrainConfig, num_classes: int) -> int:
    """Parameters that train by the end of the run (LP-FT unfreezes everything for its second phase)."""
    if config.strategy == "lpft":
        config = config.replace(strategy="copy", frozen_stages=0)
    return trainable_parameters(config, num_classes)[0]
