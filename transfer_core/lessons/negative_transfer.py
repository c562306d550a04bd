"""Transfer that hurts: a source trained on labels that mean nothing.

A small CNN trunk is first trained on other Fashion-MNIST images, with their true labels or with random ones
(a source task that can only be memorised), then carried to the target with few labelled images: fine-tuned
whole, or probed with its stages frozen. Both are measured against the same network from random weights,
seed for seed. A source that scores below random weights by more than the noise is negative transfer: what
the trunk learned (memorising noise) is worse than having learned nothing.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from transfer_core.data.preparation import normalize, prepare_data
from transfer_core.data.registry import load_shared
from transfer_core.lessons.multitask import TRUNK, TwoHeads, main_accuracy
from transfer_core.lessons.questions import direction, paired_interval
from transfer_core.lessons.reference import load_measured
from transfer_core.models.backbones import get_spec
from transfer_core.settings import ASSETS

MEASURED = ASSETS / "negative_transfer.json"  # bench/source_labels.py --write: what lesson 7 shows
SOURCES = ("scratch", "noise", "true")  # random weights; trained on random labels; trained on true labels
MODES = ("fine-tune", "probe")
CLASSES = 10


@dataclass(frozen=True)
class SourceSetup:
    source_per_class: int = 100  # the source's images: other images than the target's (another split)
    target_per_class: int = 20
    val_per_class: int = 100
    image_size: int = 32
    source_epochs: int = 15  # long enough to memorise random labels
    target_epochs: int = 12
    batch_size: int = 16
    lr: float = 1e-3


def fit(model: TwoHeads, x: torch.Tensor, y: torch.Tensor, epochs: int, seed: int, head: int,
        setup: SourceSetup, params=None) -> None:  # fmt: skip
    """Adam on one head's cross-entropy; `params` limits what trains (a probe: the head alone)."""
    prep = get_spec(TRUNK).preprocessing
    optimizer = torch.optim.Adam(params if params is not None else model.parameters(), lr=setup.lr)
    order = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        model.train()
        for batch in torch.randperm(len(y), generator=order).split(setup.batch_size):
            loss = F.cross_entropy(model(normalize(x[batch], prep))[head], y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()


def source_trunks(raw, seed: int, setup: SourceSetup) -> dict[str, dict]:
    """The trunk's weights after training on the source images' random labels ("noise") and true ones ("true")."""
    source = prepare_data(raw, setup.source_per_class, 1, setup.image_size, 100 + seed)
    noise = torch.randint(0, CLASSES, source.train_y.shape, generator=torch.Generator().manual_seed(seed))
    trunks = {}
    for name, labels in (("noise", noise), ("true", source.train_y)):
        torch.manual_seed(seed)
        model = TwoHeads(CLASSES, CLASSES)
        fit(model, source.train_x, labels, setup.source_epochs, seed, head=1, setup=setup)
        trunks[name] = model.trunk.state_dict()
    return trunks


def one_seed(seed: int, setup: SourceSetup = SourceSetup()) -> tuple[dict[str, float], dict[str, float]]:
    """Every source under every mode on the target: ({"noise probe": accuracy, …}, {… : seconds})."""
    raw = load_shared("fashion_mnist")
    started = time.perf_counter()
    trunks = source_trunks(raw, seed, setup)
    source_seconds = (time.perf_counter() - started) / len(trunks)
    target = prepare_data(raw, setup.target_per_class, setup.val_per_class, setup.image_size, seed)
    accuracy, seconds = {}, {}
    for name in SOURCES:
        for mode in MODES:
            started = time.perf_counter()
            torch.manual_seed(1000 + seed)  # every source's head (and scratch's trunk) starts alike
            model = TwoHeads(CLASSES, CLASSES)
            if name in trunks:
                model.trunk.load_state_dict(trunks[name])
            params = model.main.parameters() if mode == "probe" else None
            fit(model, target.train_x, target.train_y, setup.target_epochs, seed, 0, setup, params)
            accuracy[f"{name} {mode}"] = main_accuracy(model, target.val_x, target.val_y)
            seconds[f"{name} {mode}"] = time.perf_counter() - started + (source_seconds if name in trunks else 0)
    return accuracy, seconds


def effect(accuracy: dict[str, dict[int, float]], source: str, mode: str) -> tuple[float, float]:
    """The source's target accuracy minus random weights', seed for seed: the mean and its 95 % half-width."""
    mean, half_width, _ = paired_interval(accuracy[f"{source} {mode}"], accuracy[f"scratch {mode}"])
    return mean, half_width


def verdict(accuracy: dict[str, dict[int, float]], source: str, mode: str) -> str:
    """ "helps", "hurts" or CLOSE: the source against random weights, beyond the noise between seeds."""
    return direction(accuracy[f"{source} {mode}"], accuracy[f"scratch {mode}"])


def load(path: Path = MEASURED) -> dict | None:
    """{"measured": date, "accuracy": {"noise probe": {seed: acc}, …}, "seconds": {…}}, or None."""
    return load_measured(path)
