"""Transfer that helps and transfer that may hurt (`transfer_core/lessons/negative_transfer.py`): a small CNN
trunk trained first on other Fashion-MNIST images with their true labels or with random ones, carried to the
target (20 labelled images per class) and fine-tuned, or probed with its stages frozen, against the same
network from random weights. Each seed's target accuracy, the paired differences with their 95 % intervals,
seconds a run. Prints figures, passes or fails nothing.

    .venv/bin/python -m bench.source_labels             # five seeds, about a minute each on 2 cores
    .venv/bin/python -m bench.source_labels --write     # also write assets/negative_transfer.json (lesson 7)
"""

import argparse
import statistics
from dataclasses import asdict

from transfer_core.lessons import negative_transfer as negative
from transfer_core.lessons.reference import save_measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="write assets/negative_transfer.json")
    args = parser.parse_args()
    setup = negative.SourceSetup()
    accuracy: dict[str, dict[int, float]] = {}
    seconds: dict[str, list[float]] = {}
    for seed in range(args.seeds):
        measured, took = negative.one_seed(seed, setup)
        for run, value in measured.items():
            accuracy.setdefault(run, {})[seed] = value
            seconds.setdefault(run, []).append(took[run])
        print(seed, {run: round(value, 3) for run, value in measured.items()}, flush=True)
    for run, values in accuracy.items():
        print(f"{run:16} mean {statistics.mean(values.values()):.3f}  {statistics.mean(seconds[run]):.1f} s/run")
    for mode in negative.MODES:
        for source in ("noise", "true"):
            mean, half = negative.effect(accuracy, source, mode)
            verdict = negative.verdict(accuracy, source, mode)
            print(f"{mode}: source on {source} labels - random weights: {mean:+.3f} ± {half:.3f} "
                  f"({args.seeds} seeds): {verdict}")  # fmt: skip
    if args.write:
        mean_seconds = {run: statistics.mean(values) for run, values in seconds.items()}
        command = "python -m bench.source_labels --write"
        save_measured(negative.MEASURED, command, accuracy, mean_seconds, setup=asdict(setup))
        print(f"wrote {negative.MEASURED}")


if __name__ == "__main__":
    main()
