"""The multi-task lab, measured: the main task (Fashion-MNIST, few labels) alone, with a related second
task and with a conflicting one, on one shared trunk; each seed's main-task accuracy, the paired difference
from "alone" with its 95 % interval, the verdict (helps, hurts, close), and seconds a run. Prints figures,
passes or fails nothing.

    .venv/bin/python -m bench.multitask                 # six seeds
    .venv/bin/python -m bench.multitask --write         # also write assets/multitask.json (lesson 7 shows it)
"""

import argparse
import statistics
from dataclasses import asdict

from transfer_core.lessons import multitask
from transfer_core.lessons.reference import save_measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--write", action="store_true", help="write assets/multitask.json")
    args = parser.parse_args()
    setup = multitask.MultiTaskSetup()
    accuracy, seconds = {}, {}
    for kind in multitask.SECONDS:
        results = {seed: multitask.train_multitask(kind, seed, setup) for seed in range(args.seeds)}
        accuracy[kind] = {seed: r.val_acc for seed, r in results.items()}
        seconds[kind] = statistics.mean(r.seconds for r in results.values())
        shown = " ".join(f"{v:.3f}" for v in accuracy[kind].values())
        print(f"{kind:12} {shown}  mean {statistics.mean(accuracy[kind].values()):.3f}  {seconds[kind]:.1f} s/run")
    for kind in ("related", "conflicting"):
        difference, half = multitask.effect(accuracy, kind)
        print(f"{kind} - alone: {difference:+.3f} ± {half:.3f} ({args.seeds} paired seeds): "
              f"{multitask.verdict(accuracy, kind)}")  # fmt: skip
    if args.write:
        save_measured(multitask.MEASURED, "python -m bench.multitask --write", accuracy, seconds, setup=asdict(setup))
        print(f"wrote {multitask.MEASURED}")


if __name__ == "__main__":
    main()
