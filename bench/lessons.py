"""Lesson experiments: what each predict-then-run experiment measures here, and how long it takes.
Prints figures, passes or fails nothing.

    .venv/bin/python -m bench.lessons
"""

import time

from transfer_core.lessons import LESSONS
from transfer_core.train import Done, EpochMetrics, EpochRecord, Failed, train


def run(config) -> dict:
    """The figures the lesson page reads from a finished run."""
    result = {"val_acc": None, "shift_acc": None, "drift": {}}
    for event in train(config):
        if isinstance(event, EpochMetrics):
            result |= {"val_acc": event.val_acc, "shift_acc": event.shift_acc}
        elif isinstance(event, EpochRecord):
            result["drift"] = event.drift
        elif isinstance(event, Failed):
            raise RuntimeError(event.message)
        elif isinstance(event, Done):
            return result
    return result


def main() -> None:
    for lesson in LESSONS:
        if lesson.experiment is None:
            continue
        started = time.perf_counter()
        results = {label: run(config) for label, config in lesson.experiment.runs.items()}
        seconds = time.perf_counter() - started
        figures = ", ".join(
            f"{label} {r['val_acc']:.3f}" + (f" (shifted {r['shift_acc']:.3f})" if r["shift_acc"] is not None else "")
            for label, r in results.items()
        )
        print(f"{lesson.key}: {figures}; answer: {lesson.experiment.decide(results)}; {seconds:.1f} s")


if __name__ == "__main__":
    main()
