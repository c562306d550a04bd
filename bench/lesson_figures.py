"""The field's key results, measured by the lab, for the lessons' inline pictures: validation accuracy
against labelled images per class (from scratch, linear probe, full fine-tune: the article's "less data"
claim, and where the lines cross) and against the number of frozen stages. Three seeds each; writes
every seed's figure to assets/lesson_figures.json, which the lessons draw (mean and spread).

    .venv/bin/python -m bench.lesson_figures        # about 30 minutes on 2 cores up to 100 per class
    .venv/bin/python -m bench.lesson_figures --only scratch   # one series again, the others kept
    .venv/bin/python -m bench.lesson_figures --only probe --sizes 500   # one point again (or a new one)
"""

import argparse
import json
import time
from pathlib import Path

from bench.lessons import run
from transfer_core.lessons.questions import FULL_FINE_TUNE, PROBE, SCRATCH, SEEDS

OUT = Path(__file__).parents[1] / "assets" / "lesson_figures.json"
PER_CLASS = (5, 10, 25, 50, 100, 500)
FROZEN = (0, 3, 6, 8, 9)
VAL = {"val_per_class": 50}
STRATEGIES = {"scratch": SCRATCH, "probe": PROBE, "finetune": FULL_FINE_TUNE}


def points(name: str, configs: dict) -> list[dict]:
    rows = []
    for x, config in configs.items():
        for seed in SEEDS:
            started = time.perf_counter()
            acc = run(config.replace(seed=seed)).val_acc
            rows.append({"series": name, "x": x, "seed": seed, "val_acc": round(acc, 4)})
            print(f"{name:9} {x:>4} seed {seed}: {acc:.3f}  ({time.perf_counter() - started:.1f} s)", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", nargs="*", choices=[*STRATEGIES, "frozen"], help="measure these series again")
    parser.add_argument("--sizes", nargs="*", type=int, default=PER_CLASS, help="images per class to measure")
    args = parser.parse_args()
    wanted = set(args.only or [*STRATEGIES, "frozen"])
    kept = json.loads(OUT.read_text()) if OUT.exists() else {"images_per_class": [], "frozen_stages": []}
    by_size = [row for row in kept["images_per_class"] if row["series"] not in wanted or row["x"] not in args.sizes]
    for name, base in STRATEGIES.items():
        if name in wanted:  # small sets get batches of 8, so every run takes enough steps (lessons.TEN_PER_CLASS)
            sized = {n: base.replace(train_per_class=n, batch_size=8 if n < 20 else 16, **VAL) for n in args.sizes}
            by_size += points(name, sized)
    by_size.sort(key=lambda row: (list(STRATEGIES).index(row["series"]), row["x"], row["seed"]))
    by_frozen = kept["frozen_stages"]
    if "frozen" in wanted:
        by_frozen = points("frozen", {k: FULL_FINE_TUNE.replace(frozen_stages=k, **VAL) for k in FROZEN})
    setup = {"backbone": PROBE.backbone, "dataset": PROBE.dataset, "epochs": PROBE.epochs, **VAL,
             "frozen_train_per_class": PROBE.train_per_class,
             "settings": {name: {"lr": c.lr, "epochs": c.epochs} for name, c in STRATEGIES.items()}}  # fmt: skip
    OUT.write_text(json.dumps({"setup": setup, "images_per_class": by_size, "frozen_stages": by_frozen}, indent=1))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
