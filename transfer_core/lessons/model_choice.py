"""Model choice as a measured question (the article's open challenge): does a source network that scores
higher on ImageNet transfer better to this task?

Kornblith, Shlens and Le, "Do Better ImageNet Models Transfer Better?" (CVPR 2019), found ImageNet top-1
accuracy and transfer accuracy strongly correlated across 16 networks and 12 datasets: r = 0.99 for a
logistic regression on fixed features, 0.96 fine-tuned. The lab asks the same of its own sources, with a
linear probe (fixed features) on lesson 1's task, three seeds each. `bench/model_choice.py` measures it and
writes assets/model_choice.json, which lesson 8 draws once the learner has predicted.
"""

from dataclasses import dataclass
from pathlib import Path

from transfer_core.config import TrainConfig
from transfer_core.lessons.questions import CLOSE, PROBE, gain_verdict
from transfer_core.lessons.reference import load_measured
from transfer_core.settings import ASSETS

MEASURED = ASSETS / "model_choice.json"


@dataclass(frozen=True)
class Source:
    top1: float  # ImageNet validation top-1 accuracy (%), as published for these weights
    published: str  # where


SOURCES = {
    "efficientnet_lite0": Source(75.1, "tensorflow/tpu, models/official/efficientnet/lite README"),
    "efficientnet_lite1": Source(76.7, "tensorflow/tpu, models/official/efficientnet/lite README"),
    "efficientnet_lite2": Source(77.6, "tensorflow/tpu, models/official/efficientnet/lite README"),
    "resnet18": Source(69.758, "torchvision, ResNet18_Weights.IMAGENET1K_V1"),
    "mobilenet_v3_small": Source(67.668, "torchvision, MobileNet_V3_Small_Weights.IMAGENET1K_V1"),
    "efficientnet_b0": Source(77.692, "torchvision, EfficientNet_B0_Weights.IMAGENET1K_V1"),
}
OPTIONS = ("higher", "not_higher")  # the source with the best top-1 transfers best here / it does not


def choice_runs(available: list[str]) -> dict[str, TrainConfig]:
    """{backbone: a linear probe from it on lesson 1's task} for every source whose weights are here."""
    return {name: PROBE.replace(backbone=name) for name in SOURCES if name in available}


def decide(accuracy: dict[str, dict[int, float]]) -> str:
    """ "higher" when the source with the best ImageNet top-1 beats the one with the worst, seed for seed, by
    more than the noise; "not_higher" when the worst beats the best (or matches it within a point); CLOSE
    otherwise. Only sources with results count."""
    ranked = sorted((name for name in accuracy if accuracy[name]), key=lambda name: SOURCES[name].top1)
    if len(ranked) < 2:
        return CLOSE
    answer = gain_verdict(accuracy[ranked[-1]], accuracy[ranked[0]])  # the best top-1 against the worst
    return {"gain": "higher", "no_gain": "not_higher"}.get(answer, CLOSE)


def correlation(accuracy: dict[str, dict[int, float]]) -> float | None:
    """Pearson's r between each source's top-1 and its mean transfer accuracy (None with fewer than 3)."""
    names = [name for name in accuracy if accuracy[name]]
    if len(names) < 3:
        return None
    x = [SOURCES[name].top1 for name in names]
    y = [sum(accuracy[name].values()) / len(accuracy[name]) for name in names]
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx, syy = sum((a - mx) ** 2 for a in x), sum((b - my) ** 2 for b in y)
    return sxy / (sxx * syy) ** 0.5 if sxx and syy else None


def load(path: Path = MEASURED) -> dict | None:
    """{"measured": date, "accuracy": {backbone: {seed: acc}}, "seconds": {backbone: s}}, or None."""
    return load_measured(path)
