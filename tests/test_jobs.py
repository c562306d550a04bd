import threading
import time

import pytest

from tests.waiting import wait_for
from transfer_core.config import TrainConfig
from transfer_core.errors import QueueFull, RunNotFound, RunStillLive
from transfer_core.metrics import EpochMetrics
from transfer_core.runners.runner import Runner
from transfer_core.store.runs import RunStore
from transfer_core.train import BatchProgress, Cancelled, Failed


class FakeTraining:
    """A train function that runs until released, so tests control timing exactly."""

    def __init__(self):
        self.release = threading.Event()
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()

    def __call__(self, config, should_stop, **context):
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            for batch in range(1, 10_000):
                if should_stop():
                    yield Cancelled(1, batch)
                    return
                yield BatchProgress(1, 1, batch, 10_000, 1.0, 0.5)
                if self.release.wait(0.01):
                    break
            yield EpochMetrics(1, 1.0, 0.5, 1.0, 0.5, 1.0, 100.0)
            yield Failed("fake training has no model") if config.seed == 13 else Cancelled(1, 1)
        finally:
            with self.lock:
                self.active -= 1


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "runs")


def test_runner_never_runs_more_jobs_than_slots_and_reports_queue_positions(closing, store):
    fake = FakeTraining()
    runner = closing(Runner(store, slots=2, max_queue=5, train_fn=fake))
    ids = [runner.submit(TrainConfig(seed=i), "alice") for i in range(4)]
    wait_for(lambda: runner.snapshot(ids[1]).status == "running")
    assert [runner.snapshot(i).queue_position for i in ids] == [None, None, 1, 2]
    assert runner.snapshot(ids[2]).status == "queued"
    time.sleep(0.2)
    assert fake.max_active == 2
    fake.release.set()
    wait_for(lambda: all(runner.snapshot(i).finished for i in ids))
    assert fake.max_active == 2


def test_queue_is_bounded(closing, store):
    fake = FakeTraining()
    runner = closing(Runner(store, slots=1, max_queue=2, train_fn=fake))
    first = runner.submit(TrainConfig(), "alice")
    wait_for(lambda: runner.snapshot(first).status == "running")
    runner.submit(TrainConfig(), "alice")
    runner.submit(TrainConfig(), "bob")
    with pytest.raises(QueueFull, match="2 runs are already waiting"):
        runner.submit(TrainConfig(), "carol")


def test_cancel_a_running_and_a_queued_run(closing, store):
    fake = FakeTraining()
    runner = closing(Runner(store, slots=1, train_fn=fake))
    running = runner.submit(TrainConfig(), "alice")
    queued = runner.submit(TrainConfig(), "alice")
    wait_for(lambda: runner.snapshot(running).progress is not None)
    assert runner.cancel(queued) and runner.cancel(running)
    wait_for(lambda: runner.snapshot(running).status == "cancelled")
    assert store.load(running).status == "cancelled" and store.load(queued).status == "cancelled"
    assert "before it started" in runner.snapshot(queued).message
    assert not runner.cancel(running)  # already finished


def test_a_failing_job_is_marked_failed_and_the_runner_goes_on(closing, store):
    def exploding(config, should_stop, **context):
        yield BatchProgress(1, 1, 1, 1, 1.0, 0.5)
        raise RuntimeError("boom")

    fake = FakeTraining()
    fake.release.set()
    calls = iter([exploding, fake, fake])
    runner = closing(Runner(store, slots=1, train_fn=lambda config, stop, **context: next(calls)(config, stop)))
    broken = runner.submit(TrainConfig(), "alice")
    reported = runner.submit(TrainConfig(seed=13), "alice")
    fine = runner.submit(TrainConfig(), "alice")
    wait_for(lambda: runner.snapshot(fine).finished)
    assert runner.snapshot(broken).status == "failed" and "boom" in runner.snapshot(broken).message
    assert runner.snapshot(reported).status == "failed" and "no model" in store.load(reported).message
    assert runner.snapshot(fine).status == "cancelled"
    assert runner.snapshot(fine).metrics[0].val_acc == 0.5


def test_owners_see_and_control_only_their_own_runs(closing, store):
    fake = FakeTraining()
    runner = closing(Runner(store, slots=1, train_fn=fake))
    alice = runner.submit(TrainConfig(), "alice")
    bob = runner.submit(TrainConfig(), "bob")
    assert [s.run_id for s in runner.list("alice")] == [alice]
    assert [s.run_id for s in runner.list("bob")] == [bob]
    with pytest.raises(RunNotFound):
        runner.snapshot(alice, owner="bob")
    with pytest.raises(RunNotFound):
        runner.cancel(alice, owner="bob")
    assert runner.snapshot(alice, owner="alice").owner == "alice"


def test_a_real_training_job_stores_metrics_and_weights(closing, store, tiny_config):
    runner = closing(Runner(store, slots=1))
    run_id = runner.submit(tiny_config, "alice")
    wait_for(lambda: runner.snapshot(run_id).finished, timeout=60)
    snapshot = runner.snapshot(run_id)
    assert snapshot.status == "done", snapshot.message
    assert len(snapshot.metrics) == tiny_config.epochs
    assert snapshot.classes == [str(d) for d in range(10)]
    assert "head.weight" in store.load_weights(run_id)


def test_a_new_runner_marks_runs_of_a_dead_process_interrupted(closing, store, monkeypatch):
    run_id = store.create(TrainConfig(), "alice")
    monkeypatch.setattr("transfer_core.store.runs.process_alive", lambda meta: False)
    runner = closing(Runner(store, slots=1, train_fn=FakeTraining()))
    assert runner.interrupted == [run_id]
    assert runner.snapshot(run_id).status == "interrupted"


@pytest.fixture
def finished_run(store, tiny_config):
    """A runner with one real run of alice's, finished: (runner, run id)."""
    runner = Runner(store, slots=1)
    run_id = runner.submit(tiny_config.replace(val_shift="blur"), "alice")
    wait_for(lambda: runner.snapshot(run_id).finished, timeout=60)
    yield runner, run_id
    runner.close()


def test_a_deleted_run_is_gone_from_the_runner_as_well_as_the_store(store, finished_run):
    runner, run_id = finished_run
    with pytest.raises(RunNotFound):
        runner.delete(run_id, owner="bob")  # not bob's to delete
    runner.delete(run_id, owner="alice")
    with pytest.raises(RunNotFound):
        runner.snapshot(run_id)
    assert runner.list("alice") == [] and store.list() == []


def test_a_live_run_cannot_be_deleted(closing, store):
    fake = FakeTraining()
    runner = closing(Runner(store, slots=1, train_fn=fake))
    run_id = runner.submit(TrainConfig(), "alice")
    wait_for(lambda: runner.snapshot(run_id).status == "running")
    with pytest.raises(RunStillLive):
        runner.delete(run_id, owner="alice")
    assert runner.snapshot(run_id).status == "running"


def test_a_finished_run_records_the_data_it_trained_on(store, finished_run):
    from transfer_core.resolve import fingerprint, prepared_data

    _, run_id = finished_run
    record = store.load(run_id)
    recorded = record.fingerprint
    assert recorded == fingerprint(record.config, "alice", prepared_data(record.config, "alice"))
    assert (recorded["dataset"], recorded["classes"], recorded["train"], recorded["val"]) == (
        "digits", [str(d) for d in range(10)], 200, 100
    )  # fmt: skip
    assert len(recorded["val_labels"]) == 16 and recorded["owner"] == ""  # shared data: no owner in it


def test_the_results_page_evaluation_is_the_one_training_used(store, finished_run):
    """One evaluation function: the accuracy a finished run reports is the accuracy Results computes."""
    from transfer_core.analysis.validation import load_trained_model, validation_report
    from transfer_core.resolve import verified_data

    _, run_id = finished_run
    record = store.load(run_id)
    model = load_trained_model(record.config, len(record.classes), store.load_weights(run_id))
    report = validation_report(record.config, record.classes, model, verified_data(record))
    assert report.accuracy == record.summary.final_val_acc
    assert len(report.y_true) == 100 and report.confidence.min() > 0
