"""Lesson experiments: what each predict-then-run experiment measures here, and how long it takes.
Prints figures, passes or fails nothing. The numbers come from the same measurement step the
lesson pages use (`transfer_core.lessons.questions.run_result` and `decide`), each run once per seed as the pages
run them: every seed's figure, the mean and spread, the paired difference with its 95 % interval, and
the verdict (an answer, or "close"), with seconds of training and trainable parameters per run. Then how
long a class of thirty waits for a lesson's results, with and without the teacher's prepared results.

    .venv/bin/python -m bench.lessons            # measure, print, and print the shipped reference's verdicts
    .venv/bin/python -m bench.lessons --write    # also write assets/lesson_reference.json (what lessons show at once)
    .venv/bin/python -m bench.lessons --reference  # only the shipped reference's verdicts, nothing trained
"""

import argparse
import datetime
import os
import statistics
import tempfile
import time

from transfer_core.analysis.feature_views import RunModels, representation_change
from transfer_core.analysis.validation import load_trained_model
from transfer_core.lessons import reference
from transfer_core.lessons.classroom import PREPARED_OWNER, prepared_records
from transfer_core.lessons.questions import (
    LESSONS,
    SEEDS,
    Lesson,
    RunResult,
    decide,
    get_lesson,
    measured_points,
    paired_interval,
    part_changes,
    run_result,
    split_label,
    with_companions,
)  # fmt: skip
from transfer_core.metrics import EpochMetrics
from transfer_core.resolve import resolve
from transfer_core.store.runs import RunStore
from transfer_core.train import Done, EpochRecord, Failed, Started, train


def run(config, with_change: bool = False) -> RunResult:
    """Train one of a lesson's runs and measure it as the lesson page does."""
    metrics, drift, started, done = [], [], None, None
    for event in train(config):
        if isinstance(event, Started):
            started = event
        elif isinstance(event, EpochMetrics):
            metrics.append(event)
        elif isinstance(event, EpochRecord):
            drift.append({"epoch": event.epoch, **event.drift})
        elif isinstance(event, Done):
            done = event
        elif isinstance(event, Failed):
            raise RuntimeError(event.message)
    change = change_of(config, started.classes, done) if with_change else None
    return run_result(metrics, drift, len(started.classes), started.trainable_parameters, change)


def change_of(config, classes: list[str], done: Done) -> dict[str, float]:
    """Per stage, how far the trained network's representation moved from the starting one (1 - CKA)."""
    start = resolve(config)  # the starting network, and the run's data
    final = load_trained_model(config, len(classes), done.weights.state_dict())
    return representation_change(RunModels(config, classes, start.model.eval(), final, start.data))


def measure(lesson: Lesson, seeds: tuple[int, ...] = SEEDS, known: dict | None = None) -> dict[str, RunResult]:
    """Every run of the lesson under `seeds`; those in `known` (the shipped reference, same setup) are read,
    not trained again: the same config and seed give the same numbers."""
    with_change = lesson.experiment.measure == "part"
    known = known or {}
    results = {name: known[name] if name in known else run(config, with_change)
               for name, config in lesson.experiment.seeded_runs(seeds).items()}  # fmt: skip
    beside = {name: r for name, r in known.items()  # what is measured beside the runs, shipped with them
              if split_label(name)[0] in lesson.experiment.companions and split_label(name)[1] in seeds}  # fmt: skip
    return with_companions(lesson, results | beside)


def report(lesson: Lesson, results: dict[str, RunResult], heading: str) -> None:
    seeds = {split_label(name)[1] for name in results}
    print(f"{lesson.key} {heading} (verdict over {len(seeds)} seeds: {decide(lesson, results)})")
    points: dict[str, dict[int, float | str]] = {}  # {label: {seed: what the question reads of it}}
    for label, seed, point in measured_points(lesson, results):
        points.setdefault(label, {})[seed] = point
    for label, by_seed in points.items():
        runs = [r for name, r in results.items() if split_label(name)[0] == label]
        values = list(by_seed.values())
        shown = " ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in values)
        numbers = [v for v in values if isinstance(v, float)]
        spread = f"  mean {statistics.mean(numbers):.3f} spread {max(numbers) - min(numbers):.3f}" if numbers else ""
        cost = f"{statistics.mean(r.seconds for r in runs):.1f} s/run, {runs[0].trainable:,} trained"
        print(f"  {label:10} {lesson.experiment.measure}: {shown}{spread}  {cost}")
    if lesson.experiment.measure == "part":  # how far each part's features moved: 1 - CKA, mean over seeds
        moved = [part_changes(r.change) for r in results.values() if r.change]
        means = {part: statistics.mean(m[part] for m in moved) for part in moved[0]} if moved else {}
        shown = "  ".join(f"{part} {mean:.3f}" for part, mean in means.items()) or "-"
        print(f"  1 - CKA per part (mean over seeds): {shown}")
    if len(points) == 2 and lesson.experiment.measure != "part":
        (a, on_a), (b, on_b) = points.items()
        if all(isinstance(v, float) for v in [*on_a.values(), *on_b.values()]):
            mean, half, n = paired_interval(on_a, on_b)
            print(f"  {a} - {b}: {mean:+.3f} ± {half:.3f} (95 % interval over {n} paired seeds)")


def shipped_verdicts() -> None:
    shipped = reference.load()
    if shipped is None:
        print(f"no shipped reference results: run `{reference.COMMAND}`")
        return
    print(f"\nthe shipped reference results (measured {shipped.measured}, {shipped.machine})")
    for lesson in LESSONS:
        if shipped.of(lesson):
            report(lesson, shipped.of(lesson), "shipped reference")
        elif lesson.experiment is not None:
            print(f"{lesson.key}: no shipped reference for its current runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="write assets/lesson_reference.json")
    parser.add_argument("--reference", action="store_true", help="only print the shipped reference's verdicts")
    parser.add_argument("--lessons", nargs="*", help="only these lesson keys (with --write: the rest are kept)")
    parser.add_argument("--seeds", type=int, default=len(SEEDS), help="seeds 0..N-1 per run (default: 3)")
    args = parser.parse_args()
    if args.reference:
        shipped_verdicts()
        return
    chosen = [lesson for lesson in LESSONS if lesson.experiment and (not args.lessons or lesson.key in args.lessons)]
    measured, timings = {}, {}
    seeds = tuple(range(args.seeds))
    shipped = reference.load() if args.write else None
    for lesson in chosen:
        results = measure(lesson, seeds, shipped.of(lesson) if shipped else None)
        measured[lesson.key] = results
        timings[lesson.key] = {
            label: statistics.mean(r.seconds for name, r in results.items() if split_label(name)[0] == label)
            for label in lesson.experiment.runs
        }
        report(lesson, results, f"measured now over seeds {', '.join(map(str, seeds))}")
    if args.write:
        kept = reference.load()
        results = (kept.results if kept else {}) | measured
        configs = (kept.configs if kept else {}) | {lesson.key: dict(lesson.experiment.runs) for lesson in chosen}
        machine = f"{os.cpu_count()} CPU cores"
        today = datetime.date.today().isoformat()
        reference.save(reference.Reference(today, machine, results, configs))
        print(f"\nwrote {reference.REFERENCE}")
    shipped_verdicts()
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
