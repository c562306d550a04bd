"""A run's results are its own, whatever fails: the store refusing a write mid-run, a damaged record, a
worker that would keep someone's data. Each fault is tried on the thread runner and on worker processes
(the runner a shared server uses); tests/test_ray_cluster.py runs these same tests on a two-node Ray
cluster."""

import json

import numpy as np
import pytest

from tests.faults import misbehaving, refused_run
from tests.waiting import wait_for, wait_until_finished
from transfer_core.config import TrainConfig
from transfer_core.data import session_memory
from transfer_core.data.registry import RawDataset
from transfer_core.model_inputs import FeaturesReady
from transfer_core.runners.processes import ProcessRunner
from transfer_core.runners.runner import Runner
from transfer_core.store.features import FeatureStore
from transfer_core.store.runs import RunStore
from transfer_core.train import train

TINY = TrainConfig(
    backbone="small_cnn", weights="random", dataset="digits", train_per_class=20, val_per_class=10,
    frozen_stages=0, epochs=2, batch_size=32, image_size=32, seed=7, device="cpu",
)  # fmt: skip
LONG = TINY.replace(epochs=300, seed=5)  # trains for minutes unless something stops it


@pytest.fixture(scope="module", params=["threads", "processes"])
def runner(request, tmp_path_factory):
    """One runner per kind for the module, as a server keeps one: its slot and worker serve every run."""
    home = tmp_path_factory.mktemp(request.param)
    store = RunStore(home / "runs")
    if request.param == "threads":
        runner = Runner(store, slots=1, train_fn=misbehaving)
    else:
        runner = ProcessRunner(store, slots=1, memory_mb=2500, train_fn=misbehaving, grace_seconds=5)
    yield runner
    runner.close()


def test_a_store_that_refuses_a_write_fails_that_run_and_the_next_run_records_only_its_own(runner, monkeypatch):
    lasting = refused_run(runner, monkeypatch, LONG, OSError(28, "No space left on device"))
    failed = wait_until_finished(runner, lasting, timeout=120)
    assert failed.status == "failed" and "cannot save runs right now: No space left on device" in failed.message
    after = wait_until_finished(runner, runner.submit(TINY, "wen"), timeout=120)
    assert after.status == "done", after.message
    record = runner.store.load(after.run_id)
    assert [m.epoch for m in runner.store.metrics(after.run_id)] == [1, 2], "its own epochs, not the long run's"
    assert record.summary.epochs == 2 and len(record.classes) == 10
    assert [m.epoch for m in after.metrics] == [1, 2]


def test_a_damaged_record_fails_its_run_and_the_queue_goes_on(runner):
    damaged = runner.submit(LONG.replace(epochs=3), "dana")
    queued = runner.submit(TINY, "quinn")
    wait_for(lambda: runner.snapshot(damaged).metrics, timeout=120, what="the first epoch")
    (runner.store.root / damaged / "meta.json").write_text('{"status": "runn')  # torn by a bad disk
    ended = wait_until_finished(runner, damaged, timeout=120)
    assert ended.status == "failed" and "record is damaged" in ended.message, ended.message
    after = wait_until_finished(runner, queued, timeout=120)
    assert after.status == "done", after.message


def colours(seed: int) -> RawDataset:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 255, (16, 32, 32, 3), dtype=np.uint8)
    return RawDataset(images, np.repeat([0, 1], 8), ["blue", "red"])


def test_a_worker_keeps_no_sessions_data_after_its_run(runner):
    """A session's in-memory dataset travels with its run and is gone when the run ends: a student who
    makes a new dataset under the same name trains on the new one, and a worker holds no one's data."""
    config = TINY.replace(dataset="mine:shots", train_per_class=6, val_per_class=2, epochs=1)
    session_memory.MEMORY.datasets["olga"] = {"shots": colours(0)}
    first = wait_until_finished(runner, runner.submit(config, "olga"))
    assert first.status == "done", first.message
    session_memory.MEMORY.datasets["olga"] = {"shots": colours(1)}  # released, then made again: other images
    second = wait_until_finished(runner, runner.submit(config, "olga"))
    first_data, second_data = (runner.store.load(s.run_id).fingerprint for s in (first, second))
    assert first_data["val_images"] != second_data["val_images"], "the second run trained on the new images"
    if isinstance(runner, ProcessRunner):
        assert json.loads(worker_memory(runner)) == {}, "the worker holds no session's dataset"


def worker_memory(runner: ProcessRunner) -> str:
    """The datasets the slot's worker process holds, asked of the worker itself through a run."""
    run_id = runner.submit(TINY.replace(seed=6), "inspector")
    snapshot = wait_until_finished(runner, run_id)
    return snapshot.message.removeprefix("held: ")


PROBE = TrainConfig(dataset="digits", train_per_class=20, val_per_class=10, image_size=32, epochs=2, device="cpu")


@pytest.mark.parametrize("damage", ["truncated", "overwritten in place"])
def test_a_damaged_feature_entry_is_computed_again_once_and_the_run_says_so(tmp_path, damage):
    store = FeatureStore(tmp_path / "features", 256 * 1024**2)
    first = list(train(PROBE, features=store))
    (entry,) = (tmp_path / "features").glob("*.safetensors")
    data = bytearray(entry.read_bytes())
    if damage == "truncated":
        entry.write_bytes(data[: len(data) // 2])
    else:  # the size unchanged: only the digest can tell
        middle = len(data) // 2
        data[middle : middle + 4096] = bytes(range(256)) * 16
        entry.write_bytes(data)
    second, third = list(train(PROBE, features=store)), list(train(PROBE, features=store))
    sources = [[e.source for e in run if isinstance(e, FeaturesReady)] for run in (first, second, third)]
    assert sources == [["computed"], ["repaired"], ["stored"]]
    assert store.computed == 2, "computed again once, then shared as before"
    same = [(run[-1].metrics.train_loss, run[-1].metrics.val_loss, run[-1].metrics.val_acc) for run in (first, second)]
    assert same[0] == same[1], "trained on the same features as the first run"


@pytest.mark.slow
@pytest.mark.parametrize("idle_share, recycled", [(0.6, True), (0.4, False)])
def test_a_worker_that_keeps_memory_past_half_its_bound_is_started_afresh_after_its_run(
    tmp_path, closing, monkeypatch, idle_share, recycled
):
    from transfer_core.runners.processes import Worker

    runner = closing(ProcessRunner(RunStore(tmp_path / "runs"), slots=1, memory_mb=1000))
    monkeypatch.setattr(Worker, "rss_bytes", lambda worker: int(idle_share * runner.memory_bytes))
    (before,) = runner.worker_pids().values()
    for student in ("ivy", "jo"):  # the second run has started after the first one's worker was looked at
        assert wait_until_finished(runner, runner.submit(TINY, student)).status == "done"
    (after,) = runner.worker_pids().values()
    assert (after != before) is recycled
