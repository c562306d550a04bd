"""Sound benchmarks; prints figures, passes or fails nothing.

Every backbone that can hear spoken digits (CREPE, the lab's speech CNN, EfficientNet-Lite0 reading
spectrograms) under every strategy, and from scratch, over seeds: validation accuracy and seconds a run.

    .venv/bin/python -m bench.sound [--seeds 3] [--dataset speech_digits] [--quick]
    .venv/bin/python -m bench.sound --sweep      # from scratch's learning rate, for a fair baseline
    .venv/bin/python -m bench.sound --lesson     # lesson 10's four runs, as the lesson runs them
"""

import argparse
import statistics
import time

from transfer_core.config import TrainConfig
from transfer_core.lessons.questions import SPOKEN, SPOKEN_RUNS
from transfer_core.train import Done, Failed, train

STRATEGIES = {
    "probe": {},
    "partial": {"frozen_stages": 2, "lr": 1e-3},  # the first two stages frozen
    "full fine-tune": {"frozen_stages": 0, "lr": 1e-3},
    "LP-FT": {"strategy": "lpft", "frozen_stages": 0, "probe_epochs": 5},
    "fusion": {"strategy": "fusion"},
}
BACKBONES = ("efficientnet_lite0", "crepe_tiny", "speech_cnn")
SCRATCH = {
    "strategy": "scratch",
    "weights": "random",
    "frozen_stages": 0,
    "epochs": 2 * SPOKEN.epochs,
    "lr": SPOKEN_RUNS["scratch"].lr,
}  # its own swept rate (--sweep)


def run(config: TrainConfig) -> tuple[float, float]:
    """(validation accuracy, seconds) of one run."""
    started = time.monotonic()
    for event in train(config.replace(device="cpu"), record=False):
        if isinstance(event, Failed):
            raise RuntimeError(event.message)
        if isinstance(event, Done):
            return event.metrics.val_acc, time.monotonic() - started
    raise RuntimeError("the run ended without a result")


def row(name: str, config: TrainConfig, seeds: int) -> None:
    results = [run(config.replace(seed=seed)) for seed in range(seeds)]
    accuracies = [acc for acc, _ in results]
    spread = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
    each = " ".join(f"{acc:.3f}" for acc in accuracies)
    seconds = statistics.mean(s for _, s in results)
    print(f"| {name} | {statistics.mean(accuracies):.3f} ± {spread:.3f} | {each} | {seconds:.1f} |", flush=True)


def header() -> None:
    print("| run | val acc (mean ± sd) | per seed | s / run |")
    print("|---|---|---|---|")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--dataset", default=SPOKEN.dataset)
    parser.add_argument("--quick", action="store_true", help="probes only, and from scratch")
    parser.add_argument("--sweep", action="store_true", help="from scratch at three learning rates")
    parser.add_argument("--lesson", action="store_true", help="lesson 10's runs")
    args = parser.parse_args()
    base = SPOKEN.replace(dataset=args.dataset)
    print(f"{args.dataset}: {base.train_per_class} clips per class to train, {base.val_per_class} to validate, "
          f"{base.epochs} epochs (from scratch {SCRATCH['epochs']}), {args.seeds} seeds, on the CPU\n")  # fmt: skip
    header()
    if args.lesson:
        for name, config in SPOKEN_RUNS.items():
            row(f"lesson: {name}", config.replace(dataset=args.dataset), args.seeds)
        return
    if args.sweep:
        for lr in (1e-3, 3e-3, 1e-2):
            config = base.replace(backbone="speech_cnn", **(SCRATCH | {"lr": lr}))
            row(f"speech_cnn from scratch, lr {lr:g}", config, args.seeds)
        return
    strategies = {"probe": {}} if args.quick else STRATEGIES
    for backbone in BACKBONES:
        for name, changes in strategies.items():
            row(f"{backbone} {name}", base.replace(backbone=backbone, **changes), args.seeds)
    for backbone in ("speech_cnn", "small_cnn"):
        row(f"{backbone} from scratch", base.replace(backbone=backbone, **SCRATCH), args.seeds)


if __name__ == "__main__":
    main()
