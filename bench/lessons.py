"""Lesson experiments: what each predict-then-run experiment measures here, and how long it takes.
Prints figures, passes or fails nothing. The numbers come from the same measurement step the
lesson pages use (`transfer_core.lessons.run_result` and `decide`), each run once per seed as the pages
run them, with the verdict: an answer, or "close" when the seeds' results overlap.

    .venv/bin/python -m bench.lessons
"""

import time

from transfer_core.lessons import LESSONS, SEEDS, RunResult, by_label, decide, run_result
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


def seed_figures(runs: list[RunResult]) -> str:
    figures = " ".join(f"{r.val_acc:.3f}" for r in runs)
    if runs[0].shift_acc is not None:
        figures += " (shifted " + " ".join(f"{r.shift_acc:.3f}" for r in runs) + ")"
    return figures


def main() -> None:
    for lesson in LESSONS:
        if lesson.experiment is None:
            continue
        started = time.perf_counter()
        results = {label: run(config) for label, config in lesson.experiment.seeded_runs().items()}
        seconds = time.perf_counter() - started
        figures = "; ".join(f"{label} {seed_figures(runs)}" for label, runs in by_label(results).items())
        print(f"{lesson.key}: {figures}; verdict over {len(SEEDS)} seeds: {decide(lesson, results)}; {seconds:.1f} s")


if __name__ == "__main__":
    main()
