"""The multi-task lab: one shared trunk, two heads trained together. Does a second task help the first
when the first has few labels, or get in its way?

The main task is Fashion-MNIST's ten classes with few labelled images. The second head learns, on the same
images, either a related task (the garment's coarse kind: top, bottom, shoe or bag) or a conflicting one (a
random kind per image, which the trunk can only memorise). Both are measured against the main task alone,
seed for seed, with the lessons' rule (`questions.separated`). Negative transfer is the conflicting case
hurting the main task by more than the noise.

The trunk is the lab's small CNN from random weights: the question is what the second task does to the
features the trunk learns, which a frozen ImageNet trunk would not show.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from transfer_core.data.preparation import normalize, prepare_data
from transfer_core.data.registry import load_shared
from transfer_core.lessons.questions import direction, paired_interval
from transfer_core.lessons.reference import load_measured
from transfer_core.models.backbones import build_backbone, get_spec
from transfer_core.settings import ASSETS

MEASURED = ASSETS / "multitask.json"  # bench/multitask.py --write: what lesson 7 shows once predicted
TRUNK = "small_cnn"
SECONDS = ("alone", "related", "conflicting")  # the second task: none, the coarse kind, a random kind
# Fashion-MNIST's classes by kind: tops (T-shirt, pullover, dress, coat, shirt), bottoms, shoes, bags.
COARSE = (0, 1, 0, 0, 0, 2, 0, 2, 3, 2)
KINDS = 4
NOISE_KINDS = 10  # the conflicting task: one of ten random labels per image, as many as the main task has


@dataclass(frozen=True)
class MultiTaskSetup:
    train_per_class: int = 20
    val_per_class: int = 100
    image_size: int = 32
    epochs: int = 12
    batch_size: int = 16
    lr: float = 1e-3
    weight: float = 1.0  # the second task's share of the loss


class TwoHeads(nn.Module):
    """A shared trunk, the main task's head and the second task's head."""

    def __init__(self, classes: int, kinds: int):
        super().__init__()
        self.trunk = build_backbone(TRUNK, pretrained=False)
        self.main = nn.Linear(self.trunk.feature_dim, classes)
        self.second = nn.Linear(self.trunk.feature_dim, kinds)  # as many outputs as either second task needs

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.trunk.forward_features(x)
        return self.main(features), self.second(features)


def second_labels(kind: str, labels: torch.Tensor, seed: int) -> torch.Tensor | None:
    """The second head's labels for these images: the coarse kind, a random kind, or none."""
    if kind == "related":
        return torch.tensor([COARSE[label] for label in labels.tolist()])
    if kind == "conflicting":
        return torch.randint(0, NOISE_KINDS, labels.shape, generator=torch.Generator().manual_seed(1000 + seed))
    return None


@dataclass(frozen=True)
class MultiTaskResult:
    val_acc: float  # the main task's validation accuracy
    seconds: float


def train_multitask(kind: str, seed: int, setup: MultiTaskSetup = MultiTaskSetup()) -> MultiTaskResult:
    """Train the two heads together (or the main head alone) and score the main task on validation images."""
    started = time.perf_counter()
    data = prepare_data(load_shared("fashion_mnist"), setup.train_per_class, setup.val_per_class,
                        setup.image_size, seed)  # fmt: skip
    prep = get_spec(TRUNK).preprocessing
    torch.manual_seed(seed)
    model = TwoHeads(len(data.classes), max(KINDS, NOISE_KINDS))
    optimizer = torch.optim.Adam(model.parameters(), lr=setup.lr)
    second = second_labels(kind, data.train_y, seed)
    order = torch.Generator().manual_seed(seed)
    for _ in range(setup.epochs):
        model.train()
        for batch in torch.randperm(len(data.train_y), generator=order).split(setup.batch_size):
            main_logits, second_logits = model(normalize(data.train_x[batch], prep))
            loss = F.cross_entropy(main_logits, data.train_y[batch])
            if second is not None:
                loss = loss + setup.weight * F.cross_entropy(second_logits, second[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return MultiTaskResult(main_accuracy(model, data.val_x, data.val_y), time.perf_counter() - started)


def main_accuracy(model: TwoHeads, x: torch.Tensor, y: torch.Tensor) -> float:
    """The main head's accuracy on these images, in eval mode."""
    prep = get_spec(TRUNK).preprocessing
    model.eval()
    with torch.no_grad():
        predicted = torch.cat([model(normalize(chunk, prep))[0].argmax(1) for chunk in x.split(256)])
    return float((predicted == y).float().mean())


def effect(accuracy: dict[str, dict[int, float]], kind: str) -> tuple[float, float]:
    """The mean paired difference (with kind - alone) and its 95 % interval's half-width."""
    mean, half_width, _ = paired_interval(accuracy[kind], accuracy["alone"])
    return mean, half_width


def verdict(accuracy: dict[str, dict[int, float]], kind: str) -> str:
    """ "helps", "hurts" or "close": what the second task did to the main task, beyond the noise."""
    return direction(accuracy[kind], accuracy["alone"])


def load(path: Path = MEASURED) -> dict | None:
    """{"measured": date, "accuracy": {second task: {seed: acc}}, "seconds": {...}}, or None."""
    return load_measured(path)
