"""Sentences: WordNet definitions sorted into eight kinds, with 5, 10 and 50 labelled definitions per kind
(100 more per kind to validate), each under three seeds: TF-IDF with a logistic regression (nothing
pretrained), the small text CNN from scratch, and all-MiniLM-L6-v2 as a linear probe, with its top two
layers fine-tuned, and fully fine-tuned; every run's accuracy, the mean, seconds a run; and how many
sentences a second MiniLM encodes on this machine. Prints figures, passes or fails nothing.

    .venv/bin/python -m bench.text                       # every size, three seeds
    .venv/bin/python -m bench.text --sizes 10 --seeds 1  # one cell
    .venv/bin/python -m bench.text --sizes 50 --skip "MiniLM full fine-tune"
    .venv/bin/python -m bench.text --cached              # a probe's first result, cold and from stored features
"""

import argparse
import statistics
import tempfile
import time

from transfer_core.config import TrainConfig
from transfer_core.lessons.questions import SENTENCE_PROBE
from transfer_core.metrics import EpochMetrics
from transfer_core.model_inputs import FeaturesReady
from transfer_core.store.features import FeatureStore
from transfer_core.text import neighbours
from transfer_core.text.baseline import baseline_for
from transfer_core.train import Failed, train

TASK = TrainConfig(backbone="minilm_l6", dataset="definitions", val_per_class=100, batch_size=16)
RUNS = {
    "small CNN from scratch": TASK.replace(
        backbone="text_cnn", weights="random", strategy="scratch", frozen_stages=0, lr=1e-3, epochs=20
    ),  # fmt: skip
    "MiniLM probe": SENTENCE_PROBE,  # lesson 11's
    "MiniLM top 2 layers": TASK.replace(frozen_stages=4, lr=1e-4, epochs=8),
    "MiniLM full fine-tune": TASK.replace(frozen_stages=0, lr=5e-5, epochs=8),
}


def run(config: TrainConfig) -> tuple[float, float]:
    started, last = time.perf_counter(), None
    for event in train(config, record=False):
        if isinstance(event, Failed):
            raise RuntimeError(event.message)
        if isinstance(event, EpochMetrics):
            last = event
    return last.val_acc, time.perf_counter() - started


def first_result(config: TrainConfig, features: FeatureStore) -> tuple[float, float]:
    """Seconds from the start to the end of the feature pass, and to the first epoch's accuracy."""
    started, ready = time.perf_counter(), None
    for event in train(config, record=False, features=features):
        if isinstance(event, Failed):
            raise RuntimeError(event.message)
        if isinstance(event, FeaturesReady):
            ready = time.perf_counter() - started
        if isinstance(event, EpochMetrics):
            return ready or 0.0, time.perf_counter() - started
    raise RuntimeError("the run ended before its first epoch")


def cached_probe() -> None:
    """Lesson 11's probe twice on one feature store: cold (its 880 definitions encoded), then as the next
    learner of a class gets it, from the stored features."""
    with tempfile.TemporaryDirectory() as folder:
        store = FeatureStore(folder, max_bytes=2**30)
        for when in ("cold", "features cached"):
            encoded, first = first_result(SENTENCE_PROBE, store)
            print(f"lesson 11's probe, {when}: feature pass {encoded:.1f} s, first accuracy after {first:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5, 10, 50])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[], help="leave out runs by name, e.g. 'MiniLM full fine-tune'")
    parser.add_argument("--cached", action="store_true", help="only time a probe's first result, cold and cached")
    args = parser.parse_args()
    if args.cached:
        cached_probe()
        return
    around = neighbours.neighbourhood()
    print(f"MiniLM encodes {around.sentences_per_second:.0f} sentences/s ({len(around.texts)} definitions)")
    for size in args.sizes:
        table: dict[str, list[tuple[float, float]]] = {}
        for seed in range(args.seeds):
            base = TASK.replace(train_per_class=size, seed=seed)
            tfidf = baseline_for(base)
            table.setdefault("TF-IDF from scratch", []).append((tfidf.val_acc, tfidf.seconds))
            for name, config in ((n, c) for n, c in RUNS.items() if n not in args.skip):
                table.setdefault(name, []).append(run(config.replace(train_per_class=size, seed=seed)))
            print(f"{size}/kind seed {seed}: " + ", ".join(f"{n} {r[-1][0]:.3f}" for n, r in table.items()), flush=True)
        for name, results in table.items():
            accuracies = " ".join(f"{a:.3f}" for a, _ in results)
            mean = statistics.mean(a for a, _ in results)
            seconds = statistics.mean(s for _, s in results)
            print(f"{size:>3}/kind  {name:24} {accuracies}  mean {mean:.3f}  {seconds:.1f} s/run", flush=True)


if __name__ == "__main__":
    main()
