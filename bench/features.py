"""Feature-view benchmarks; prints figures, passes or fails nothing.

(a) What recording features and weight drift after every epoch costs: epoch wall time with and
    without it, as the runner sees it (records saved to a run store), at defaults and for a
    full fine-tune.
(b) The cost of each Features-page view for a finished default run, computed once.

    .venv/bin/python -m bench.features
"""

import statistics
import tempfile
import time

import torch

from transfer_core.analysis import feature_views
from transfer_core.config import TrainConfig
from transfer_core.metrics import EpochMetrics
from transfer_core.runners.runner import Runner
from transfer_core.store.runs import RunStore
from transfer_core.train import EpochRecord, train


def epoch_wall_times(config: TrainConfig, record: bool) -> list[float]:
    """Seconds between consecutive epoch ends, records computed and saved as the runner does."""
    store = RunStore(tempfile.mkdtemp())
    run_id = store.create(config, "bench")
    ends = [time.perf_counter()]
    for event in train(config, record=record):
        if isinstance(event, EpochRecord):
            store.save_record(run_id, event.epoch, event.sample, event.embedding, event.drift)
        elif isinstance(event, EpochMetrics):
            ends.append(time.perf_counter())
    return [b - a for a, b in zip(ends, ends[1:])]


def recording_cost(name: str, config: TrainConfig, repeats: int = 2) -> None:
    on, off = [], []
    for i in range(repeats):  # interleaved, and in turn first, against drift in machine load and warm-up
        for record in (False, True) if i % 2 == 0 else (True, False):
            (on if record else off).append(epoch_wall_times(config, record=record))
    for label, slice_ in (("first epoch", slice(0, 1)), ("later epochs", slice(1, None))):
        a = statistics.median([t for run in off for t in run[slice_]])
        b = statistics.median([t for run in on for t in run[slice_]])
        print(
            f"    {name}, {label:12s}: {a * 1000:9.1f} ms without, {b * 1000:9.1f} ms with  ({(b / a - 1) * 100:+.1f}%)"
        )
    total_off = statistics.median(sum(run) for run in off)
    total_on = statistics.median(sum(run) for run in on)
    change = (total_on / total_off - 1) * 100
    print(f"    {name}, all epochs  : {total_off:9.2f} s without, {total_on:9.2f} s with  ({change:+.1f}%)")


def timed(label: str, work) -> object:
    start = time.perf_counter()
    result = work()
    print(f"    {label:34s} {time.perf_counter() - start:6.2f} s")
    return result


def view_costs() -> None:
    store = RunStore(tempfile.mkdtemp())
    runner = Runner(store)
    run_id = runner.submit(TrainConfig(), "bench")
    while not runner.snapshot(run_id).finished:
        time.sleep(0.2)
    runner.close()
    models = timed("load the run's models and data", lambda: feature_views.load_run_models(store, run_id))
    timed("embedding map (PCA, before/after)", lambda: feature_views.embedding_frame(store, run_id, models, "pca"))
    timed("embedding map (t-SNE, before/after)", lambda: feature_views.embedding_frame(store, run_id, models, "tsne"))
    timed("embedding animation (all epochs)", lambda: feature_views.embedding_animation_frame(store, run_id, models))
    timed(
        "activation maps (one image)",
        lambda: feature_views.activation_maps(models, feature_views.validation_image(models, 0)),
    )
    timed("first-layer filters", lambda: feature_views.filters_before_after(models))
    timed("Grad-CAM, 8 images, both networks", lambda: feature_views.cam_view(models, list(range(8))))
    timed("weight drift", lambda: feature_views.drift_frame(store.drift(run_id)))
    timed("CKA per stage (256 images)", lambda: feature_views.cka_frame(models))


def main() -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device cpu\n")
    print("(a) recording features and drift every epoch (256 validation images)")
    recording_cost("default linear probe", TrainConfig(device="cpu"), repeats=4)
    recording_cost(
        "full fine-tune, 640 images",
        TrainConfig(frozen_stages=0, lr=3e-4, train_per_class=64, epochs=3, device="cpu"),
        repeats=1,
    )
    print("\n(b) Features page views for a finished default run, each computed once")
    view_costs()


if __name__ == "__main__":
    main()
