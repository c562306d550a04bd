"""Lessons whose experiments train in seconds, for tests of a lesson's flow (predict, lock in, run, verdict,
reload) where the real experiment's sizes would only cost minutes. The questions, answers, seeds and deciders
are the lessons' own; only each run's images, epochs and resolution shrink. What the real sizes measure is
printed by bench/lessons.py and bench/baselines.py.

    python -m tests.small_lessons run serve.py ...   # `streamlit run ...`, with every lesson small
"""

import operator
import sys

from transfer_core.config import TrainConfig
from transfer_core.lessons.questions import LESSONS, Lesson

SMALL = {"train_per_class": 10, "val_per_class": 10}


def small(config: TrainConfig) -> TrainConfig:
    # A quarter of the epochs keeps each baseline's share (from scratch trains twice the probe's epochs).
    return config.replace(**SMALL, epochs=max(1, config.epochs // 4), image_size=min(config.image_size, 32))


def small_runs(lesson: Lesson) -> dict[str, TrainConfig]:
    """{run label: its config, small} for the lesson's experiment (none for a lesson without one)."""
    return {label: small(config) for label, config in lesson.experiment.runs.items()} if lesson.experiment else {}


def shrink_every_lesson(replace_run=operator.setitem) -> None:
    """Every lesson's experiment runs small from now on; `replace_run(runs, label, config)` does the replacing
    (pytest's `monkeypatch.setitem`, to be undone after a test, or plain assignment)."""
    for lesson in LESSONS:
        for label, config in small_runs(lesson).items():
            replace_run(lesson.experiment.runs, label, config)


if __name__ == "__main__":
    from streamlit.web import cli

    shrink_every_lesson()
    sys.argv[0] = "streamlit"
    sys.exit(cli.main())
