"""What a run measured: one EpochMetrics per epoch, and the summary every page reads from them.

Plain dataclasses and no torch, so the run store, the runner's snapshots and the pages all speak
of the same typed values.
"""

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class EpochMetrics:
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    seconds: float  # the whole epoch, validation included
    images_per_second: float  # training images per second of training
    shift_acc: float | None = None  # accuracy on the shifted validation copy, when the config asks for one

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, row: Mapping) -> "EpochMetrics":
        """A stored row; fields a newer version added are ignored, so old and new stores both read."""
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in row.items() if key in known})


@dataclass(frozen=True)
class RunSummary:
    """The figures a table row, a verdict or a sidebar line needs from a run's epochs."""

    epochs: int
    final_val_acc: float
    best_val_acc: float
    final_shift_acc: float | None
    seconds: float  # every epoch together
    images_per_second: float  # over the whole run's training


def summarize(metrics: Iterable[EpochMetrics]) -> RunSummary | None:
    """None for a run that has not finished an epoch yet."""
    metrics = list(metrics)
    if not metrics:
        return None
    last = metrics[-1]
    return RunSummary(
        epochs=len(metrics),
        final_val_acc=last.val_acc,
        best_val_acc=max(m.val_acc for m in metrics),
        final_shift_acc=last.shift_acc,
        seconds=sum(m.seconds for m in metrics),
        images_per_second=sum(m.images_per_second for m in metrics) / len(metrics),
    )


def metrics_rows(metrics: Iterable[EpochMetrics]) -> list[dict]:
    """Plain rows for tables, charts and CSV files."""
    return [m.to_dict() for m in metrics]


def near_chance(accuracy: float, classes: int, val_images: int) -> bool:
    """Whether a validation accuracy is within two standard errors of guessing (1 / classes) on this
    many validation images, and closer to guessing than to perfect: a result the network may have
    reached without learning anything. (On two validation images even 1.0 is within two standard
    errors of a coin flip; calling it "what guessing gets" would be wrong.)"""
    chance = 1 / max(classes, 1)
    within_noise = accuracy <= chance + 2 * math.sqrt(chance * (1 - chance) / max(val_images, 1))
    return within_noise and accuracy < (chance + 1) / 2
