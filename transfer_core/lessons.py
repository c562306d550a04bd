"""The lessons' runnable parts: each lesson's preset (its "try it" link) and its predict-then-run
experiment, whose outcome is measured, never written down in advance. Texts live in the UI's
string tables; this module holds only what computes.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .config import TrainConfig
from .metrics import EpochMetrics, summarize

# Small enough to run in seconds on a laptop CPU, large enough for the effect to show. Batches of 16
# give from-scratch runs enough steps for BatchNorm's running statistics to catch up with the weights:
# at 64 per batch (32 steps) a scratch network fits its training images yet scores chance on validation.
SMALL = TrainConfig(train_per_class=50, val_per_class=50, epochs=4, batch_size=16)
PROBE = SMALL
SCRATCH = SMALL.replace(strategy="scratch", weights="random", frozen_stages=0)
FULL_FINE_TUNE = SMALL.replace(frozen_stages=0, lr=3e-4)


@dataclass(frozen=True)
class RunResult:
    """What a finished run measured, as a lesson question reads it."""

    val_acc: float
    shift_acc: float | None
    drift: dict[str, float]  # the last epoch's {stage: relative change of its weights}


def run_result(metrics: Iterable[EpochMetrics], drift_rows: list[dict]) -> RunResult:
    """A finished run's epochs and drift rows ({"epoch": n, stage: drift}) as a RunResult."""
    summary = summarize(metrics)
    if summary is None:
        raise ValueError("a run without a finished epoch has no result")
    drift = {stage: value for stage, value in drift_rows[-1].items() if stage != "epoch"} if drift_rows else {}
    return RunResult(summary.final_val_acc, summary.final_shift_acc, drift)


SEEDS = (0, 1, 2)  # every run of an experiment, once per seed: another split and another initialisation
CLOSE = "close"  # the verdict when the seeds' results overlap: too close to call with this budget
SEED_MARK = " · seed "


@dataclass(frozen=True)
class Experiment:
    """Runs to launch, each once per seed, and how their results decide which answer was right.

    `decide` gets {run label: [RunResult per seed]} and returns the right option's key, or CLOSE."""

    runs: dict[str, TrainConfig]
    decide: Callable[[dict[str, list[RunResult]]], str]

    def seeded_runs(self, seeds: tuple[int, ...] = SEEDS) -> dict[str, TrainConfig]:
        """{"probe · seed 1": config with seed 1, …}: what a lesson page queues."""
        return {f"{label}{SEED_MARK}{seed}": config.replace(seed=seed) for label, config in self.runs.items()
                for seed in seeds}  # fmt: skip


def by_label(results: dict[str, RunResult]) -> dict[str, list[RunResult]]:
    """{"probe · seed 1": result, …} -> {"probe": [result per seed], …}, in seed order."""
    grouped: dict[str, list[RunResult]] = {}
    for name, result in sorted(results.items(), key=lambda item: int(item[0].rpartition(SEED_MARK)[2] or 0)):
        grouped.setdefault(name.rpartition(SEED_MARK)[0] or name, []).append(result)
    return grouped


@dataclass(frozen=True)
class Lesson:
    key: str
    preset: TrainConfig  # what "try it" opens in the lab
    options: tuple[str, ...]  # keys of the predict-then-run answers
    experiment: Experiment | None = None  # None: the lesson's own worked example decides
    extra_presets: dict[str, TrainConfig] = field(default_factory=dict)


def separated(values: dict[str, list[float]]) -> str:
    """The label whose every seed beats every seed of the others; CLOSE when their ranges overlap."""
    leader = max(values, key=lambda label: sum(values[label]) / len(values[label]))
    others = [v for label, seeds in values.items() if label != leader for v in seeds]
    return leader if min(values[leader]) > max(others) else CLOSE


def best(metric: str) -> Callable[[dict[str, list[RunResult]]], str]:
    """The run with the highest `metric` wins, if it does under every seed."""
    return lambda results: separated(
        {label: [getattr(r, metric) or 0.0 for r in runs] for label, runs in results.items()}
    )


def kept_most(results: dict[str, list[RunResult]]) -> str:
    """The run that lost the least accuracy on the shifted copy (shifted minus clean: the drop)."""
    return separated({label: [(r.shift_acc or 0.0) - r.val_acc for r in runs] for label, runs in results.items()})


def most_changed_part(results: dict[str, list[RunResult]]) -> str:
    """Which third of the network (early, middle, late) moved furthest from its start, if every seed agrees."""
    parts = {changed_part(r.drift) for runs in results.values() for r in runs}
    return parts.pop() if len(parts) == 1 else CLOSE


def changed_part(drift: dict[str, float]) -> str:
    stages = list(drift)
    strongest = stages.index(max(stages, key=drift.get))
    return ("early", "middle", "late")[min(2, 3 * strongest // len(stages))]


def decide(lesson: "Lesson", results: dict[str, RunResult]) -> str:
    """The measured answer to a lesson's question (or CLOSE), from its experiment's finished runs,
    labelled as `Experiment.seeded_runs` labels them."""
    return lesson.experiment.decide(by_label(results))


def probe_or_scratch(**task) -> dict[str, TrainConfig]:
    """A linear probe and the same network from scratch, both on the task `task` changes to."""
    return {"probe": PROBE.replace(**task), "scratch": SCRATCH.replace(**task)}


FUSION = PROBE.replace(strategy="fusion")
# Lesson 3: the lab's word GRU, trained to tell six languages apart, on four it never saw, ten words each.
# From scratch gets its own learning rate and more epochs: the care a fair baseline deserves.
WORD_PROBE = TrainConfig(backbone="word_gru", dataset="words_near", train_per_class=10, val_per_class=300,
                         batch_size=16, epochs=40, lr=1e-2)  # fmt: skip
WORD_SCRATCH = WORD_PROBE.replace(strategy="scratch", weights="random", frozen_stages=0, epochs=30, lr=3e-3)
DIGITS = {"dataset": "digits", "train_per_class": 30, "val_per_class": 30}
FADED = {"val_shift": "contrast"}
# Batches of 8: with 100 images, even 16 leaves too few steps for BatchNorm's statistics.
TEN_PER_CLASS = {"train_per_class": 10, "batch_size": 8}

LESSONS: tuple[Lesson, ...] = (
    Lesson("why", PROBE, ("probe", "scratch"), Experiment(probe_or_scratch(), best("val_acc"))),
    Lesson(
        "mapping",
        FULL_FINE_TUNE,
        ("early", "middle", "late"),
        Experiment({"fine-tune": FULL_FINE_TUNE}, most_changed_part),
    ),
    Lesson(
        "features",
        WORD_PROBE,
        ("probe", "scratch"),
        Experiment({"probe": WORD_PROBE, "scratch": WORD_SCRATCH}, best("val_acc")),
    ),
    Lesson(
        "methods",
        FUSION,
        ("copy", "fusion"),
        Experiment({"copy": PROBE, "fusion": FUSION}, best("val_acc")),
        {"copy": PROBE, "fusion": FUSION},
    ),
    Lesson(
        "finetune",
        FULL_FINE_TUNE,
        ("probe", "finetune"),
        Experiment({"probe": PROBE, "finetune": FULL_FINE_TUNE}, best("val_acc")),
    ),
    Lesson("project", PROBE, ("works", "typeerror", "indexerror")),
    Lesson(
        "uses", PROBE.replace(**DIGITS), ("probe", "scratch"), Experiment(probe_or_scratch(**DIGITS), best("val_acc"))
    ),
    Lesson(
        "challenges",
        PROBE.replace(**FADED),
        ("probe", "finetune"),
        Experiment({"probe": PROBE.replace(**FADED), "finetune": FULL_FINE_TUNE.replace(**FADED)}, kept_most),
        {"lite0": PROBE, "lite1": PROBE.replace(backbone="efficientnet_lite1")},
    ),
    Lesson(
        "qa",
        PROBE.replace(**TEN_PER_CLASS),
        ("probe", "scratch"),
        Experiment(probe_or_scratch(**TEN_PER_CLASS), best("val_acc")),
    ),
)


def get_lesson(key: str) -> Lesson:
    return next(lesson for lesson in LESSONS if lesson.key == key)
