"""Fair baselines and like-for-like comparisons for the lessons: each strategy at several learning rates
(and from scratch with more epochs and smaller batches), three seeds each, on the lessons' tasks. Prints
each setting's validation accuracy per seed, its mean and spread; the lessons use the best of each.

    .venv/bin/python -m bench.baselines [--only scratch|finetune|probe|fusion] [--match lr=0.01 ...]
"""

import argparse
import statistics
import time

from bench.lessons import run
from transfer_core.lessons.questions import FULL_FINE_TUNE, PROBE, SCRATCH, SEEDS

SWEEPS = {
    "probe": [PROBE.replace(lr=lr) for lr in (1e-3, 3e-3, 1e-2)],
    "finetune": [FULL_FINE_TUNE.replace(lr=lr) for lr in (1e-4, 3e-4, 1e-3)],
    "scratch": [SCRATCH.replace(lr=3e-3, epochs=4)]
    + [SCRATCH.replace(lr=lr, epochs=8) for lr in (1e-3, 3e-3, 1e-2)]
    + [SCRATCH.replace(lr=1e-3, epochs=8, batch_size=8)],
    "fusion": [
        PROBE.replace(strategy="fusion", dataset=d, **size)
        for d, size in (("fashion_mnist", {}), ("digits", {"train_per_class": 30, "val_per_class": 30}))
    ]
    + [PROBE.replace(dataset="digits", train_per_class=30, val_per_class=30)],
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=list(SWEEPS))
    parser.add_argument("--match", nargs="*", default=[], help="only the settings with these FIELD=VALUE")
    args = parser.parse_args()
    for name, configs in SWEEPS.items():
        if args.only and name != args.only:
            continue
        print(f"{name}: {configs[0].backbone}, {configs[0].train_per_class} images per class, seeds {SEEDS}")
        for config in (c for c in configs if matches(c, args.match)):
            started = time.perf_counter()
            accs = [run(config.replace(seed=seed)).val_acc for seed in SEEDS]
            seconds = (time.perf_counter() - started) / len(SEEDS)
            print(f"  {config.strategy:8} {config.dataset:13} lr {config.lr:<7g} epochs {config.epochs:<3} "
                  f"batch {config.batch_size:<3} "
                  f"{' '.join(f'{a:.3f}' for a in accs)}  mean {statistics.mean(accs):.3f} "
                  f"spread {max(accs) - min(accs):.3f}  {seconds:.1f} s/run", flush=True)  # fmt: skip


def matches(config, wanted: list[str]) -> bool:
    """Whether every FIELD=VALUE in `wanted` holds for `config` (values compared as the config types them)."""
    for pair in wanted:
        field, value = pair.split("=", 1)
        if getattr(config, field) != type(getattr(config, field))(value):
            return False
    return True


if __name__ == "__main__":
    main()
