"""Word transfer: does the language-ID source help on held-out languages with few words? Prints figures,
passes or fails nothing.

    .venv/bin/python -m bench.words [--words-per-class 10] [--seeds 3]

Prints, for each word encoder and target (words_near: Portuguese, Catalan, Swedish, Danish, each related
to a source language; words_far: Polish beside Portuguese and Swedish), a table strategy x seed x
validation accuracy (300 validation words per class) with seconds per run; then each strategy's mean
and spread (max - min over the seeds) against from-scratch's; then the time of one run at the lab's
defaults (200 words per class, 5 epochs); and a reference beside the PyTorch tutorial "classifying names
with a character-level RNN" (about three quarters right on 18 languages): our GRU from scratch on all
eleven word lists.
"""

import argparse
import statistics
import time

from transfer_core.config import TrainConfig
from transfer_core.train import Done, Failed, train

# From scratch gets the same care as transfer: its own learning rate and more epochs (it starts from nothing).
STRATEGIES = {
    "from scratch": {"strategy": "scratch", "weights": "random", "epochs": 30, "lr": 3e-3},
    "linear probe": {"strategy": "copy", "frozen_stages": -1, "epochs": 40, "lr": 1e-2},
    "copy, 2 frozen": {"strategy": "copy", "frozen_stages": 2, "epochs": 30, "lr": 3e-3},
    "full fine-tune": {"strategy": "copy", "frozen_stages": 0, "epochs": 30, "lr": 1e-3},
    "LP-FT": {"strategy": "lpft", "epochs": 30, "lr": 1e-2, "probe_epochs": 15},
    "fusion": {"strategy": "fusion", "frozen_stages": -1, "epochs": 30, "lr": 3e-3},
}


def final(config: TrainConfig) -> tuple[float, float]:
    """Validation accuracy and seconds of one run."""
    started = time.perf_counter()
    for event in train(config, record=False):
        if isinstance(event, Failed):
            raise SystemExit(f"{config.backbone} {config.strategy}: {event.message}")
        if isinstance(event, Done):
            return event.metrics.val_acc, time.perf_counter() - started
    raise SystemExit("a run ended without finishing")


def transfer_table(backbone: str, dataset: str, words: int, seeds: int) -> None:
    print(f"\n{backbone} -> {dataset}, {words} words per class, 300 validation words per class")
    print(f"{'strategy':16} " + " ".join(f"seed {s:<6}" for s in range(seeds)) + "  seconds/run")
    results = {}
    for name, settings in STRATEGIES.items():
        runs = [final(TrainConfig(backbone=backbone, dataset=dataset, train_per_class=words, val_per_class=300,
                                  batch_size=16, seed=seed, **settings)) for seed in range(seeds)]  # fmt: skip
        results[name] = [accuracy for accuracy, _ in runs]
        seconds = statistics.mean(s for _, s in runs)
        print(f"{name:16} " + " ".join(f"{a:<11.3f}" for a in results[name]) + f"  {seconds:.1f}")
    scratch = results["from scratch"]
    print(f"{'strategy':16} mean   spread  margin over scratch (scratch spread {max(scratch) - min(scratch):.3f})")
    for name, accuracies in results.items():
        margin = statistics.mean(accuracies) - statistics.mean(scratch)
        print(f"{name:16} {statistics.mean(accuracies):.3f}  {max(accuracies) - min(accuracies):.3f}   {margin:+.3f}")


def defaults_time() -> None:
    config = TrainConfig(backbone="word_gru", dataset="words_near")  # the lab's defaults: 200 + 100 per class
    accuracy, seconds = final(config)
    print(f"\nat the lab's defaults (word_gru, words_near, 200 words per class, 5 epochs, a linear probe): "
          f"{seconds:.1f} s, validation accuracy {accuracy:.3f}")  # fmt: skip


def tutorial_reference() -> None:
    """All eleven languages, from scratch, 1000 words each: the closest we have to the tutorial's setup."""
    config = TrainConfig(backbone="word_gru", dataset="words_all", strategy="scratch", weights="random",
                         train_per_class=1000, val_per_class=300, epochs=15, batch_size=64)  # fmt: skip
    accuracy, seconds = final(config)
    print(
        f"\nreference: word_gru from scratch on all 11 languages, 1000 words each, 15 epochs: validation "
        f"accuracy {accuracy:.3f} in {seconds:.0f} s (the PyTorch names tutorial: about 0.75 on 18 languages)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--words-per-class", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    for backbone in ("word_gru", "word_cnn"):
        for dataset in ("words_near", "words_far"):
            transfer_table(backbone, dataset, args.words_per_class, args.seeds)
    defaults_time()
    tutorial_reference()


if __name__ == "__main__":
    main()
