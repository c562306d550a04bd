"""Lesson experiments: what each predict-then-run experiment measures here, and how long it takes.
Prints figures, passes or fails nothing. The numbers come from the same measurement step the
lesson pages use (`transfer_core.lessons.run_result` and `decide`).

    .venv/bin/python -m bench.lessons
"""

import time

from transfer_core.lessons import LESSONS, RunResult, decide, run_result
from transfer_core.metrics import EpochMetrics
from transfer_core.train import EpochRecord, Failed, train


def run(config) -> RunResult:
    """Train one of a lesson's runs and measure it as the lesson page does."""
    metrics, drift = [], []
    for event in train(config):
        if isinstance(event, EpochMetrics):
            metrics.append(event)
        elif isinstance(event, EpochRecord):
            drift.append({"epoch": event.epoch, **event.drift})
        elif isinstance(event, Failed):
            raise RuntimeError(event.message)
    return run_result(metrics, drift)


def main() -> None:
    for lesson in LESSONS:
        if lesson.experiment is None:
            continue
        started = time.perf_counter()
        results = {label: run(config) for label, config in lesson.experiment.runs.items()}
        seconds = time.perf_counter() - started
        figures = ", ".join(
            f"{label} {r.val_acc:.3f}" + (f" (shifted {r.shift_acc:.3f})" if r.shift_acc is not None else "")
            for label, r in results.items()
        )
        print(f"{lesson.key}: {figures}; answer: {decide(lesson, results)}; {seconds:.1f} s")


if __name__ == "__main__":
    main()
