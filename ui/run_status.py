"""What a run is doing, in the learner's words: its place in the queue and the wait, the frozen feature
pass, or its epoch and batch with the time left; and, once done, whether it did better than guessing.
Every page that waits on runs (Train, Compare, the layer lab, the lessons) says it the same way."""

from collections.abc import Iterable

from transfer_core.metrics import near_chance
from transfer_core.runners.run_state import RunSnapshot

from .i18n import Markdown, t


def current_run(snapshots: Iterable[RunSnapshot]) -> RunSnapshot | None:
    """The run a page that waits on several should talk about: the one training, else the next to start."""
    live = [s for s in snapshots if not s.finished]
    running = [s for s in live if s.status == "running"]
    if running:
        return running[0]
    return min(live, key=lambda s: s.queue_position or 0, default=None)


def run_status_line(snapshot: RunSnapshot) -> Markdown:
    if snapshot.status == "queued":
        if snapshot.wait_seconds == 0:  # a slot is free: it leaves the queue this moment
            return t("waiting.starting")
        ahead = max(0, (snapshot.queue_position or 1) - 1)
        words = t("waiting.ahead", ahead=ahead) if ahead else t("waiting.next")
        if snapshot.wait_seconds is not None:
            words = Markdown(f"{words} {wait_words(snapshot.wait_seconds)}")
        return words
    features, progress = snapshot.features, snapshot.progress
    if features is not None:
        return t("train.features_waiting") if features.waiting else t("train.features", done=features.done,
                                                                       total=features.total)  # fmt: skip
    if progress is None:
        return t("train.preparing")
    words = t("waiting.training", epoch=progress.epoch, epochs=progress.epochs, batch=progress.batch,
              batches=progress.batches)  # fmt: skip
    left = seconds_left(snapshot)
    return Markdown(f"{words} {t('waiting.left', seconds=left)}") if left is not None else words


def wait_words(seconds: float) -> Markdown:
    """The estimated wait, to the nearest 5 s (it is an estimate), never under 5 s."""
    return t("train.wait", seconds=max(5, round(seconds / 5) * 5))


def seconds_left(snapshot: RunSnapshot) -> int | None:
    """From the speed measured so far: the last finished epoch's time for each epoch still to go (the
    first epoch of a probe includes the slow feature pass, so a later one is the better measure)."""
    progress = snapshot.progress
    if progress is None or not snapshot.metrics:
        return None
    per_epoch = snapshot.metrics[-1].seconds
    remaining = (progress.epochs - progress.epoch) + (1 - progress.batch / progress.batches)
    return max(1, round(per_epoch * remaining))


def at_chance(snapshot: RunSnapshot) -> bool:
    """Finished, and no better than guessing among its classes on its validation images."""
    classes = len(snapshot.classes) or 1
    summary = snapshot.summary
    return (
        snapshot.status == "done"
        and summary is not None
        and near_chance(summary.final_val_acc, classes, snapshot.config.val_per_class * classes)
    )
