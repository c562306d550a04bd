"""Lesson experiments: what each predict-then-run experiment measures here, and how long it takes.
Prints figures, passes or fails nothing. The numbers come from the same measurement step the
lesson pages use (`transfer_core.lessons.questions.run_result` and `decide`), each run once per seed as the pages
run them: every seed's figure, the mean and spread, the paired difference with its 95 % interval, and
the verdict (an answer, or "close"). Then how long a class of thirty waits for a lesson's results, with
and without the teacher's prepared results.

    .venv/bin/python -m bench.lessons
"""

import statistics
import tempfile
import time

from transfer_core.lessons.classroom import PREPARED_OWNER, prepared_records
from transfer_core.lessons.questions import (
    LESSONS,
    SEEDS,
    RunResult,
    decide,
    get_lesson,
    measured_points,
    paired_interval,
    run_result,
    split_label,
)  # fmt: skip
from transfer_core.metrics import EpochMetrics
from transfer_core.store.runs import RunStore
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
    timings: dict[str, dict[str, float]] = {}
    for lesson in LESSONS:
        if lesson.experiment is None:
            continue
        results, seconds = {}, {}
        for name, config in lesson.experiment.seeded_runs().items():
            started = time.perf_counter()
            results[name] = run(config)
            seconds.setdefault(split_label(name)[0], []).append(time.perf_counter() - started)
        timings[lesson.key] = {label: statistics.mean(values) for label, values in seconds.items()}
        print(f"{lesson.key} (verdict over {len(SEEDS)} seeds: {decide(lesson, results)})")
        points: dict[str, dict[int, float | str]] = {}  # {label: {seed: what the question reads of it}}
        for label, seed, point in measured_points(lesson, results):
            points.setdefault(label, {})[seed] = point
        for label, by_seed in points.items():
            values = list(by_seed.values())
            shown = " ".join(f"{v:.3f}" if isinstance(v, float) else v for v in values)
            numbers = [v for v in values if isinstance(v, float)]
            spread = (
                f"  mean {statistics.mean(numbers):.3f} spread {max(numbers) - min(numbers):.3f}" if numbers else ""
            )
            print(f"  {label:10} {lesson.experiment.measure}: {shown}{spread}  {timings[lesson.key][label]:.1f} s/run")
        if len(points) == 2 and lesson.experiment.measure != "part":
            (a, on_a), (b, on_b) = points.items()
            mean, half, n = paired_interval(on_a, on_b)
            print(f"  {a} - {b}: {mean:+.3f} ± {half:.3f} (95 % interval over {n} paired seeds)")
    class_waits(timings)


def class_waits(timings: dict[str, dict[str, float]], students: int = 30) -> None:
    """A class of thirty on one slot, each student running their seat's seed: the queue serves every
    student's first run, then every second one (the runner's fairness), so student k has both results
    after all first runs and k second ones. Prepared, each student reads stored results instead."""
    lookup = prepared_lookup_seconds(students)
    print(f"\na class of {students}, one slot, student i runs seed i (waits from the measured run times above)")
    print(f"{'lesson':11} {'median wait':>12} {'last student':>13}   prepared: each student waits")
    for key, per_label in timings.items():
        durations = list(per_label.values())
        first_pass = students * sum(durations[:-1])
        waits = sorted(first_pass + (k + 1) * durations[-1] for k in range(students))
        print(
            f"{key:11} {statistics.median(waits):10.0f} s {waits[-1]:11.0f} s   {lookup * 1000:.0f} ms (stored results)"
        )


def prepared_lookup_seconds(students: int) -> float:
    """How long a student's page takes to find its prepared results among a class's worth of them."""
    lesson = get_lesson("why")
    with tempfile.TemporaryDirectory() as folder:
        store = RunStore(folder)
        for config in lesson.experiment.seeded_runs(range(students)).values():
            run_id = store.create(config, PREPARED_OWNER)
            store.append_metrics(run_id, EpochMetrics(1, 1.0, 0.5, 1.0, 0.5, 1.0, 100.0))
            store.update(run_id, status="done")
        started = time.perf_counter()
        found = prepared_records(store, lesson.experiment.seeded_runs((students - 1,)))
        assert len(found) == len(lesson.experiment.runs)
        return time.perf_counter() - started


if __name__ == "__main__":
    main()
