"""Sentences, where the lines cross: validation accuracy against labelled definitions per kind for
all-MiniLM-L6-v2 probed (lesson 11's probe) and TF-IDF from scratch (its baseline), three seeds each, on the
same seeded splits. Writes every seed's figure to assets/sentence_figure.json, which lesson 11 draws.

    .venv/bin/python -m bench.sentence_figure                 # 5 to 200 definitions per kind, about 20 minutes
    .venv/bin/python -m bench.sentence_figure --sizes 500     # one point more, the others kept
"""

import argparse
import json
import time

from bench.text import run
from transfer_core.lessons.figures import SENTENCE_FIGURE
from transfer_core.lessons.questions import SEEDS, SENTENCE_PROBE
from transfer_core.text.baseline import baseline_for

SIZES = (5, 10, 20, 50, 100, 200)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", type=int, default=SIZES, help="definitions per kind to measure")
    args = parser.parse_args()
    kept = json.loads(SENTENCE_FIGURE.read_text())["definitions_per_kind"] if SENTENCE_FIGURE.exists() else []
    rows = [row for row in kept if row["x"] not in args.sizes]
    for size in args.sizes:
        for seed in SEEDS:
            config = SENTENCE_PROBE.replace(train_per_class=size, seed=seed)
            started = time.perf_counter()
            probe, _ = run(config)
            tfidf = baseline_for(config).val_acc
            rows += [{"series": "probe", "x": size, "seed": seed, "val_acc": round(probe, 4)},
                     {"series": "tfidf", "x": size, "seed": seed, "val_acc": round(tfidf, 4)}]  # fmt: skip
            print(f"{size:>4}/kind seed {seed}: probe {probe:.3f}  TF-IDF {tfidf:.3f}  "
                  f"({time.perf_counter() - started:.1f} s)", flush=True)  # fmt: skip
    rows.sort(key=lambda row: (row["series"], row["x"], row["seed"]))
    setup = {"backbone": SENTENCE_PROBE.backbone, "dataset": SENTENCE_PROBE.dataset, "epochs": SENTENCE_PROBE.epochs,
             "val_per_class": SENTENCE_PROBE.val_per_class, "lr": SENTENCE_PROBE.lr}  # fmt: skip
    SENTENCE_FIGURE.write_text(json.dumps({"setup": setup, "definitions_per_kind": rows}, indent=1) + "\n")
    print(f"wrote {SENTENCE_FIGURE}")


if __name__ == "__main__":
    main()
