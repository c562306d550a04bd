"""Train functions that misbehave, for the process runner's fault tests. They live in a module of their
own because a worker process imports its train function by name."""

import json
import os
import signal
import time
from pathlib import Path

import numpy as np

from transfer_core.data import session_memory
from transfer_core.train import BatchProgress, Cancelled, Done, Failed, train


def misbehaving(config, should_stop, **context):
    """What the run does is chosen by its seed: 1 raises, 2 eats memory, 3 ignores stop, 4 is killed,
    6 fails saying which sessions' datasets the process holds, anything else trains for real."""
    if config.seed == 1:
        yield BatchProgress(1, 1, 1, 2, 1.0, 0.5)
        raise RuntimeError("boom inside the job")
    if config.seed == 2:
        hoard = []
        while True:  # until the runner's memory bound stops the worker
            hoard.append(np.ones(50 * 1024**2 // 8))
            yield BatchProgress(1, 1, len(hoard), 10_000, 1.0, 0.5)
            time.sleep(0.05)
    if config.seed == 3:
        yield BatchProgress(1, 1, 1, 2, 1.0, 0.5)
        while True:  # a hang: never looks at should_stop again
            time.sleep(1)
    if config.seed == 4:
        yield BatchProgress(1, 1, 1, 2, 1.0, 0.5)
        os.kill(os.getpid(), signal.SIGKILL)
    if config.seed == 6:
        with session_memory.MEMORY.lock:
            held = {owner: sorted(datasets) for owner, datasets in session_memory.MEMORY.datasets.items()}
        yield Failed(f"held: {json.dumps(held)}")
        return
    for event in train(config, should_stop, **context):
        yield event
        if isinstance(event, (Done, Cancelled)):
            return


def refused_run(runner, monkeypatch, config, error: OSError) -> str:
    """Submit `config` for "yan" with the runner's store refusing that run's metrics with `error` (a full or
    read-only disk met mid-run); other runs' writes go through. Returns the refused run's id."""
    append, refused = runner.store.append_metrics, []

    def refuse_for_that_run(run_id, metrics):
        if run_id in refused:
            raise error
        append(run_id, metrics)

    monkeypatch.setattr(runner.store, "append_metrics", refuse_for_that_run)
    refused.append(runner.submit(config, "yan"))
    return refused[0]


def where_placed(config, should_stop, **context):
    """Reports, as its failure message, the device it was told to use and the GPUs Ray gave it."""
    import ray

    yield Failed(f"device={config.device} gpus={ray.get_gpu_ids()}")


def sleeper(config, should_stop, **context):
    """One batch, then seconds of waiting: long enough to see runs train side by side."""
    yield from one_batch_then_holding(15, should_stop)


def one_batch_then_holding(seconds: float, should_stop):
    """A run that reports one batch, then holds its slot for `seconds` or until asked to stop."""
    yield BatchProgress(1, 1, 1, 2, 1.0, 0.5)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not should_stop():
        time.sleep(0.05)
    yield Cancelled(1, 2)


def holding_a_node(config, should_stop, **context):
    """Seed 100 and above: writes the id of the Ray node it runs on to $TRANSFER_LAB_HOME/placed/<seed>,
    then holds that node's CPU for up to two minutes (until stopped). Any other seed trains for real."""
    if config.seed < 100:
        yield from train(config, should_stop, **context)
        return
    import ray

    placed = Path(os.environ["TRANSFER_LAB_HOME"]) / "placed"
    placed.mkdir(parents=True, exist_ok=True)
    (placed / f"{config.seed}.tmp").write_text(ray.get_runtime_context().get_node_id())
    (placed / f"{config.seed}.tmp").rename(placed / str(config.seed))  # whole, or not there yet
    yield from one_batch_then_holding(120, should_stop)
