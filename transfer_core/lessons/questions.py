"""The lessons' runnable parts: each lesson's preset (its "try it" link) and its predict-then-run
experiment, whose outcome is measured, never written down in advance. Texts live in the UI's
string tables; this module holds only what computes.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from transfer_core.config import TrainConfig
from transfer_core.metrics import EpochMetrics, summarize

# Small enough to run in seconds on a laptop CPU, large enough for the effect to show. Batches of 16
# give from-scratch runs enough steps for BatchNorm's running statistics to catch up with the weights:
# at 64 per batch (32 steps) a scratch network fits its training images yet scores chance on validation.
SMALL = TrainConfig(train_per_class=50, val_per_class=50, epochs=4, batch_size=16)
PROBE = SMALL
# A fair baseline: from scratch gets the setting that served it best in a sweep (bench/baselines.py: lr 1e-3
# or 3e-3 for 8 epochs, 0.68-0.69 on the lesson's task, against 0.52 at the probe's 3e-3 for 4 epochs;
# 1e-2 fell to 0.40, and batches of 8 instead of 16 gave the same 0.69).
SCRATCH = SMALL.replace(strategy="scratch", weights="random", frozen_stages=0, lr=1e-3, epochs=8)
FULL_FINE_TUNE = SMALL.replace(frozen_stages=0, lr=3e-4)


@dataclass(frozen=True)
class RunResult:
    """What a finished run measured, as a lesson question reads it."""

    val_acc: float
    shift_acc: float | None
    drift: dict[str, float]  # the last epoch's {stage: relative change of its weights}
    change: dict[str, float] = field(default_factory=dict)  # {stage: 1 - linear CKA, start against end}
    chance: float = 0.0  # what guessing scores: 1 / classes (0 when unknown)
    seconds: float = 0.0  # every epoch together
    trainable: int = 0  # parameters the run trained


def run_result(
    metrics: Iterable[EpochMetrics], drift_rows: list[dict], classes: int = 0, trainable: int = 0,
    change: dict[str, float] | None = None,
) -> RunResult:  # fmt: skip
    """A finished run's epochs and drift rows ({"epoch": n, stage: drift}) as a RunResult."""
    summary = summarize(metrics)
    if summary is None:
        raise ValueError("a run without a finished epoch has no result")
    drift = {stage: value for stage, value in drift_rows[-1].items() if stage != "epoch"} if drift_rows else {}
    chance = 1 / classes if classes else 0.0
    return RunResult(summary.final_val_acc, summary.final_shift_acc, drift, change or {}, chance, summary.seconds,
                     trainable)  # fmt: skip


SEEDS = (0, 1, 2)  # every run of an experiment, once per seed: another split and another initialisation
CLOSE = "close"  # the verdict when the seeds' results overlap: too close to call with this budget
SEED_MARK = " · seed "


Seeded = dict[int, "RunResult"]  # {seed: the result of one run under that seed}


@dataclass(frozen=True)
class Experiment:
    """Runs to launch, each once per seed, and how their results decide which answer was right.

    `decide` gets {run label: {seed: RunResult}} and returns the right option's key, or CLOSE."""

    runs: dict[str, TrainConfig]
    decide: Callable[[dict[str, Seeded]], str]
    measure: str = "val_acc"  # what each run contributes to the class's distribution: val_acc, retention or part
    # Results measured beside a run, not trained by the runner: {label: (the run it follows, how it is measured
    # from that run's seeded config)}; lesson 11's TF-IDF, fitted in seconds on the probe's own split.
    companions: dict[str, tuple[str, Callable[[TrainConfig], "RunResult"]]] = field(default_factory=dict)

    def seeded_runs(self, seeds: Iterable[int] = SEEDS) -> dict[str, TrainConfig]:
        """{"probe · seed 1": config with seed 1, …}: what a lesson page queues. Interleaved, seed by seed
        (probe·0, scratch·0, probe·1, …), so that the first paired result lands after the first two runs."""
        return {seeded_label(label, seed): config.replace(seed=seed) for seed in seeds
                for label, config in self.runs.items()}  # fmt: skip


def next_seeds(used: Iterable[int], count: int) -> tuple[int, ...]:
    """`count` seeds none of `used` has: a learner's runs add new evidence instead of replaying old runs."""
    start = max(used, default=-1) + 1
    return tuple(range(start, start + count))


def seeded_label(label: str, seed: int) -> str:
    return f"{label}{SEED_MARK}{seed}"


def split_label(name: str) -> tuple[str, int]:
    """ "probe · seed 1" -> ("probe", 1)."""
    label, _, seed = name.rpartition(SEED_MARK)
    return (label, int(seed)) if label else (name, 0)


def by_label(results: dict[str, "RunResult"]) -> dict[str, Seeded]:
    """{"probe · seed 1": result, …} -> {"probe": {seed: result}, …}, in seed order."""
    grouped: dict[str, Seeded] = {}
    for name in sorted(results, key=lambda name: split_label(name)[1]):
        label, seed = split_label(name)
        grouped.setdefault(label, {})[seed] = results[name]
    return grouped


@dataclass(frozen=True)
class Lesson:
    key: str
    preset: TrainConfig  # what "try it" opens in the lab
    options: tuple[str, ...]  # keys of the predict-then-run answers
    experiment: Experiment | None = None  # None: the lesson's own worked example decides
    extra_presets: dict[str, TrainConfig] = field(default_factory=dict)


def t_quantile(degrees_of_freedom: int) -> float:
    """The 97.5th percentile of Student's t: a 95 % interval's half-width, in standard errors."""
    from scipy.stats import t  # scipy comes with scikit-learn; imported only where a verdict is decided

    return float(t.ppf(0.975, degrees_of_freedom))


def paired_interval(a: dict[int, float], b: dict[int, float]) -> tuple[float, float, int]:
    """The mean of a - b over the seeds both were run with, its 95 % interval's half-width, and how many
    seeds. The same seed gives both runs the same split, so the difference cancels what the split adds."""
    differences = [a[seed] - b[seed] for seed in a if seed in b]
    n = len(differences)
    if n < 2:
        return (differences[0] if differences else 0.0), float("inf"), n
    mean = sum(differences) / n
    spread = (sum((d - mean) ** 2 for d in differences) / (n - 1)) ** 0.5
    return mean, t_quantile(n - 1) * spread / n**0.5, n


def beats(a: dict[int, float], b: dict[int, float]) -> bool:
    """Whether `a` beats `b` seed for seed by more than the noise: the 95 % interval of the mean
    difference lies above zero (never with fewer than two shared seeds)."""
    mean, half_width, _ = paired_interval(a, b)
    return mean - half_width > 0


def separated(values: dict[str, dict[int, float]], eligible: Iterable[str] | None = None) -> str:
    """The label that beats every other one, seed for seed, by more than the 95 % interval of the mean
    difference; CLOSE when any interval holds zero (or fewer than two seeds were run). Only an `eligible`
    label (default: every one) can win; the others still have to be beaten."""
    candidates = [label for label in (values if eligible is None else eligible) if values.get(label)]
    if not candidates:
        return CLOSE
    leader = max(candidates, key=lambda label: sum(values[label].values()) / len(values[label]))
    if all(beats(values[leader], values[label]) for label in values if label != leader):
        return leader
    return CLOSE


def best(metric: str) -> Callable[[dict[str, Seeded]], str]:
    """The run with the highest `metric` wins, if it does by more than the noise between seeds."""
    return lambda results: separated(
        {label: {seed: getattr(r, metric) or 0.0 for seed, r in runs.items()} for label, runs in results.items()}
    )


NO_GAIN_MARGIN = 0.01  # a gain below one point of accuracy (5 of 500 validation images) is no gain worth paying for


def measurable_gain(new: str, base: str, margin: float = NO_GAIN_MARGIN) -> Callable[[dict[str, Seeded]], str]:
    """ "gain" when `new` beats `base` by more than the noise (the paired 95 % interval lies above zero),
    "no_gain" when the interval rules out a gain of `margin` or more, CLOSE otherwise: a noisy lead is
    not evidence of no gain, and absence of evidence is not evidence of absence."""

    def decide(results: dict[str, Seeded]) -> str:
        accuracy = {label: {seed: r.val_acc for seed, r in runs.items()} for label, runs in results.items()}
        return gain_verdict(accuracy[new], accuracy[base], margin)

    return decide


def gain_verdict(new: dict[int, float], base: dict[int, float], margin: float = NO_GAIN_MARGIN) -> str:
    """ "gain" when the paired 95 % interval of new - base lies above zero, "no_gain" when it rules out a gain
    of `margin` or more, CLOSE otherwise (and with fewer than two shared seeds)."""
    mean, half_width, _ = paired_interval(new, base)
    if mean - half_width > 0:
        return "gain"
    return "no_gain" if mean + half_width < margin else CLOSE


def direction(new: dict[int, float], base: dict[int, float]) -> str:
    """ "helps" when the paired 95 % interval of new - base lies above zero, "hurts" when below, CLOSE otherwise:
    what a second task or a source did, beyond the noise between seeds."""
    mean, half_width, _ = paired_interval(new, base)
    return "helps" if mean - half_width > 0 else "hurts" if mean + half_width < 0 else CLOSE


def above_chance(r: RunResult) -> bool:
    """Whether a run learned something: a clean accuracy at least ten points above guessing. A run at
    chance scores chance on any copy too, so it would seem to keep everything while having nothing to keep."""
    return r.val_acc >= r.chance + 0.1


def retention(r: RunResult) -> float | None:
    """The share of its clean accuracy a run keeps on the shifted copy (shifted / clean); None when the
    copy was not scored or the run never rose above chance (nothing to keep)."""
    if r.shift_acc is None or not above_chance(r):
        return None
    return r.shift_acc / r.val_acc


def kept_most(results: dict[str, Seeded]) -> str:
    """The run that keeps the largest share of its accuracy on the shifted copy, by more than the noise.
    A run with a seed that never rose above chance, or was not scored on the copy, cannot win."""
    kept = {label: {seed: retention(r) for seed, r in runs.items()} for label, runs in results.items()}
    eligible = [label for label, by_seed in kept.items() if None not in by_seed.values()]
    usable = {label: {seed: v for seed, v in by_seed.items() if v is not None} for label, by_seed in kept.items()}
    return separated(usable, eligible)


PARTS = ("early", "middle", "late")


def part_of(stages: list[str], stage: str) -> str:
    """Which third of the network (early, middle, late) a stage lies in."""
    return PARTS[min(2, 3 * stages.index(stage) // len(stages))]


def part_changes(change: dict[str, float]) -> dict[str, float]:
    """{part: the mean representational change (1 - CKA) of its stages}."""
    stages = list(change)
    grouped: dict[str, list[float]] = {}
    for stage, value in change.items():
        grouped.setdefault(part_of(stages, stage), []).append(value)
    return {part: sum(values) / len(values) for part, values in grouped.items()}


def most_changed_part(results: dict[str, Seeded]) -> str:
    """Which third of the network changed its representation most (linear CKA between the starting and
    the trained network on the same images; weight drift is confounded by Adam's equal steps), by more
    than the noise between seeds: more seeds sharpen the verdict, never block it."""
    by_part: dict[str, dict[int, float]] = {}
    for runs in results.values():
        for seed, r in runs.items():
            for part, value in part_changes(r.change).items():
                by_part.setdefault(part, {})[seed] = value
    return separated(by_part) if by_part else CLOSE


def changed_part(change: dict[str, float]) -> str:
    """The part whose representation changed most in one run."""
    parts = part_changes(change)
    return max(parts, key=parts.get) if parts else CLOSE


def measured_points(lesson: "Lesson", results: dict[str, RunResult]) -> list[tuple[str, int, float | str]]:
    """(run label, seed, what the question reads of it): each run's point in the class's distribution."""
    read = {"val_acc": lambda r: r.val_acc, "retention": retention, "part": lambda r: changed_part(r.change)}
    measure = read[lesson.experiment.measure]
    return [(label, seed, measure(r)) for label, runs in by_label(results).items() for seed, r in runs.items()]


def with_companions(lesson: "Lesson", results: dict[str, RunResult]) -> dict[str, RunResult]:
    """`results` and, for every seed of a run a companion follows, the companion's result on that seed
    (measured here unless `results` already holds it)."""
    measured = dict(results)
    for label, (follows, measure) in lesson.experiment.companions.items():
        for name in results:
            run, seed = split_label(name)
            if run == follows and seeded_label(label, seed) not in measured:
                measured[seeded_label(label, seed)] = measure(lesson.experiment.runs[follows].replace(seed=seed))
    return measured


def tfidf_result(config: TrainConfig) -> RunResult:
    """TF-IDF from scratch on exactly the definitions `config`'s run trains and validates on (fitted once per
    split: a page asks again on every redraw)."""
    from transfer_core.text.baseline import baseline_for  # scikit-learn's text tools: only where asked for
    from transfer_core.text.definitions import KINDS

    fitted = baseline_for(config)
    return RunResult(fitted.val_acc, None, {}, chance=1 / len(KINDS), seconds=fitted.seconds)


def decide(lesson: "Lesson", results: dict[str, RunResult]) -> str:
    """The measured answer to a lesson's question (or CLOSE), from its experiment's finished runs,
    labelled as `Experiment.seeded_runs` labels them."""
    return lesson.experiment.decide(by_label(results))


def probe_or_scratch(**task) -> dict[str, TrainConfig]:
    """A linear probe and the same network from scratch, both on the task `task` changes to."""
    return {"probe": PROBE.replace(**task), "scratch": SCRATCH.replace(**task)}


def probe_or_finetune(**task) -> dict[str, TrainConfig]:
    """A linear probe and a fine-tune of every stage (each at its own learning rate) on the task."""
    return {"probe": PROBE.replace(**task), "finetune": FULL_FINE_TUNE.replace(**task)}


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
# Lesson 5 at 10 images per class, where the lab's runs answer it: at 50 the fine-tune's lead was within the
# noise (+0.037 ± 0.038 over three seeds), and at 25 the probe's too (+0.033 ± 0.038 over six, bench/lessons.py).

# Lesson 10: which source carries over to spoken digits (ten clips of each, said by voices no source heard):
# ImageNet's CNN reading spectrograms as pictures, CREPE (real recordings, trained to name pitch), the lab's
# speech CNN (synthetic command words), or that CNN from scratch at its own swept rate and twice the epochs
# (bench/sound.py --sweep: 1e-3 0.84, 3e-3 0.82 with a wider spread, 1e-2 0.58). Forty clips a digit validate.
SPOKEN = TrainConfig(dataset="speech_digits", train_per_class=10, val_per_class=40, batch_size=16, epochs=10)
SPOKEN_RUNS = {
    "imagenet": SPOKEN.replace(backbone="efficientnet_lite0"),
    "crepe": SPOKEN.replace(backbone="crepe_tiny"),
    "speech": SPOKEN.replace(backbone="speech_cnn"),
    "scratch": SPOKEN.replace(backbone="speech_cnn", strategy="scratch", weights="random", frozen_stages=0,
                              epochs=20, lr=1e-3),
}  # fmt: skip

# Lesson 11: all-MiniLM-L6-v2, pretrained by others on a billion English sentence pairs, probed on WordNet's
# definitions by kind (kinds it was never taught), ten a kind; against TF-IDF from scratch on the same
# definitions, its regularisation chosen by cross-validation (bench/text.py: 0.820 against 0.533, three seeds).
SENTENCE_PROBE = TrainConfig(backbone="minilm_l6", dataset="definitions", train_per_class=10, val_per_class=100,
                             batch_size=16, epochs=30, lr=1e-2)  # fmt: skip

LESSONS: tuple[Lesson, ...] = (
    Lesson("why", PROBE, ("probe", "scratch"), Experiment(probe_or_scratch(), best("val_acc"))),
    Lesson(
        "mapping",
        FULL_FINE_TUNE,
        ("early", "middle", "late"),
        Experiment({"fine-tune": FULL_FINE_TUNE}, most_changed_part, measure="part"),
    ),
    Lesson(
        "features",
        WORD_PROBE,
        ("probe", "scratch"),
        Experiment({"probe": WORD_PROBE, "scratch": WORD_SCRATCH}, best("val_acc")),
    ),
    Lesson(  # copy against fusion cannot be told apart at this budget (bench/baselines.py): ask what can
        "methods",
        FUSION,
        ("gain", "no_gain"),
        Experiment({"copy": PROBE, "fusion": FUSION}, measurable_gain("fusion", "copy")),
        {"copy": PROBE, "fusion": FUSION},
    ),
    Lesson(
        "finetune",
        FULL_FINE_TUNE.replace(**TEN_PER_CLASS),
        ("probe", "finetune"),
        Experiment(probe_or_finetune(**TEN_PER_CLASS), best("val_acc")),
    ),
    Lesson("project", PROBE, ("works", "typeerror", "indexerror")),
    Lesson(
        "uses", PROBE.replace(**DIGITS), ("probe", "scratch"), Experiment(probe_or_scratch(**DIGITS), best("val_acc"))
    ),
    Lesson(
        "challenges",
        PROBE.replace(**FADED),
        ("probe", "finetune"),
        Experiment(
            {"probe": PROBE.replace(**FADED), "finetune": FULL_FINE_TUNE.replace(**FADED)}, kept_most, "retention"
        ),
        {"lite0": PROBE, "lite1": PROBE.replace(backbone="efficientnet_lite1")},
    ),
    Lesson(
        "qa",
        PROBE.replace(**TEN_PER_CLASS),
        ("probe", "scratch"),
        Experiment(probe_or_scratch(**TEN_PER_CLASS), best("val_acc")),
    ),
    Lesson(
        "crossmodal",
        SPOKEN_RUNS["imagenet"],
        tuple(SPOKEN_RUNS),
        Experiment(SPOKEN_RUNS, best("val_acc")),
        {"crepe": SPOKEN_RUNS["crepe"], "speech": SPOKEN_RUNS["speech"]},
    ),
    Lesson(
        "sentences",
        SENTENCE_PROBE,
        ("probe", "tfidf"),
        Experiment({"probe": SENTENCE_PROBE}, best("val_acc"), companions={"tfidf": ("probe", tfidf_result)}),
    ),
)


def get_lesson(key: str) -> Lesson:
    return next(lesson for lesson in LESSONS if lesson.key == key)
