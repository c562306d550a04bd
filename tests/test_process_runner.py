"""The process runner: every run trains in a worker process, so a job that raises, runs out of its memory
bound, hangs or is killed ends as one failed (or cancelled) run, and the next run trains as usual."""

import pytest

from tests.faults import misbehaving
from tests.waiting import wait_for, wait_until_finished
from transfer_core.config import TrainConfig
from transfer_core.runners.processes import ProcessRunner
from transfer_core.store.features import FeatureStore
from transfer_core.store.runs import RunStore

pytestmark = pytest.mark.slow  # every test here starts worker processes (seconds each)

TINY = TrainConfig(
    backbone="small_cnn", weights="random", dataset="digits", train_per_class=20, val_per_class=10,
    frozen_stages=0, epochs=1, batch_size=32, image_size=32, seed=0,
)  # fmt: skip


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    home = tmp_path_factory.mktemp("process-runner")
    features = FeatureStore(home / "features", 256 * 1024**2)
    runner = ProcessRunner(
        # A bound whose half lies above an idle worker's memory (about 0.9 GB here): below it, every run
        # would start its worker afresh (see test_faults' recycling test).
        RunStore(home / "runs"),
        features=features,
        memory_mb=2500,
        train_fn=misbehaving,
        grace_seconds=2,
    )
    yield runner
    runner.close()


def then_a_run_trains(runner: ProcessRunner) -> None:
    snapshot = wait_until_finished(runner, runner.submit(TINY, "bob"), timeout=120)
    assert snapshot.status == "done", snapshot.message
    assert "head.weight" in runner.store.load_weights(snapshot.run_id)


def test_a_run_trains_in_a_worker_process_and_lands_in_the_store(runner):
    run_id = runner.submit(TrainConfig(dataset="digits", train_per_class=20, val_per_class=10, epochs=2), "alice")
    snapshot = wait_until_finished(runner, run_id, timeout=180)
    assert snapshot.status == "done", snapshot.message
    assert len(snapshot.metrics) == 2 and snapshot.batches and snapshot.feature_source == "computed"
    record = runner.store.load(run_id)
    assert record.summary.final_val_acc == snapshot.summary.final_val_acc and record.fingerprint["train"] == 200
    assert "head.weight" in runner.store.load_weights(run_id)


@pytest.mark.parametrize(
    "fault, message",
    [
        (1, "RuntimeError: boom inside the job"),  # the job raises
        (2, "the run needed more than 2500 MB of memory"),  # it passes the memory bound
        (4, "the worker process training this run stopped (signal 9)"),  # its worker is killed
    ],
)
def test_a_job_that_fails_in_its_worker_fails_alone_with_a_message(runner, fault, message):
    snapshot = wait_until_finished(runner, runner.submit(TINY.replace(seed=fault), "alice"))
    assert snapshot.status == "failed" and snapshot.message.startswith(message), snapshot.message
    then_a_run_trains(runner)


def test_a_hung_job_is_stopped_after_the_grace_period_when_cancelled(runner):
    run_id = runner.submit(TINY.replace(seed=3), "alice")
    wait_for(lambda: runner.snapshot(run_id).progress is not None, timeout=60)
    runner.cancel(run_id)
    snapshot = wait_until_finished(runner, run_id, timeout=30)
    assert snapshot.status == "cancelled" and "without answering the stop" in snapshot.message
    then_a_run_trains(runner)


def test_a_session_dataset_held_in_the_servers_memory_trains_in_the_worker(runner):
    from tests.archives import class_images, make_zip
    from transfer_core.data import user_data
    from transfer_core.data.uploads import import_zip
    from transfer_core.settings import UploadLimits

    limits = UploadLimits(min_per_class=3)
    colours = import_zip(make_zip(class_images({"red": (220, 30, 30), "blue": (30, 30, 220)}, 10)), limits).dataset
    user_data.keep_dataset("carol", "colours", colours, limits)
    config = TINY.replace(dataset="mine:colours", train_per_class=6, val_per_class=4, epochs=2, lr=0.01)
    snapshot = wait_until_finished(runner, runner.submit(config, "carol"))
    assert snapshot.status == "done" and snapshot.classes == ["blue", "red"], snapshot.message
    refused = wait_until_finished(runner, runner.submit(config, "mallory"))
    assert refused.status == "failed" and "no dataset named 'colours'" in refused.message


def test_own_sentences_held_in_the_servers_memory_train_in_the_worker(runner):
    from tests.test_text_upload import GOOD, csv_bytes
    from transfer_core.data import user_data
    from transfer_core.settings import UploadLimits
    from transfer_core.text.upload import import_csv

    sentences = import_csv("objects.csv", csv_bytes(GOOD), UploadLimits()).dataset
    user_data.keep_dataset("carol", "objects", sentences, UploadLimits())
    config = TrainConfig(backbone="minilm_l6", dataset="mine:objects", train_per_class=4, val_per_class=2, epochs=2)
    snapshot = wait_until_finished(runner, runner.submit(config, "carol"), timeout=180)
    assert snapshot.status == "done" and snapshot.classes == ["animal", "tool"], snapshot.message
    refused = wait_until_finished(runner, runner.submit(config, "mallory"))
    assert refused.status == "failed" and "no dataset named 'objects'" in refused.message
    then_a_run_trains(runner)


SERVER = """
import sys, time
from transfer_core.config import TrainConfig
from transfer_core.runners.runner import Runner
from transfer_core.store.runs import RunStore

runner = Runner(RunStore(sys.argv[1]))
run_id = runner.submit(TrainConfig.from_json(sys.argv[2]), "alice")
queued = runner.submit(TrainConfig.from_json(sys.argv[2]), "bob")
while not runner.snapshot(run_id).metrics:
    time.sleep(0.05)
print(run_id, queued, flush=True)
time.sleep(600)  # killed long before
"""


def test_a_server_killed_mid_run_restarts_with_its_runs_marked_and_the_next_run_trains(tmp_path, closing):
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from transfer_core.runners.runner import Runner

    slow = TINY.replace(epochs=200)
    root = Path(__file__).parents[1]
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(tmp_path), slow.to_json()], cwd=root, stdout=subprocess.PIPE, text=True
    )
    try:
        running, queued = server.stdout.readline().split()
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=30)
    store = RunStore(tmp_path)
    assert store.load(running).status == "running"  # as the killed server left it
    restarted = closing(Runner(store))
    assert sorted(restarted.interrupted) == sorted([running, queued])
    record = store.load(running)
    assert record.status == "interrupted" and record.summary.epochs >= 1, "the epochs it finished are kept"
    assert "never trained" in store.load(queued).message
    after = wait_until_finished(restarted, restarted.submit(TINY, "carol"), timeout=120)
    assert after.status == "done"


def test_a_worker_that_dies_while_its_slot_is_idle_is_started_again(runner):
    import os
    import signal

    from transfer_core.runners.processes import HEALTH_SECONDS

    (pid,) = runner.worker_pids().values()
    os.kill(pid, signal.SIGKILL)  # killed between runs (the kernel's out-of-memory killer, an operator)
    wait_for(lambda: runner.worker_pids()["runner-slot-0"] not in (None, pid), timeout=HEALTH_SECONDS * 3)
    then_a_run_trains(runner)


def test_workers_start_without_running_or_swapping_the_servers_main_module(tmp_path, closing, monkeypatch):
    """Streamlit runs each page as __main__: starting a worker must neither run that page again in the
    worker nor swap sys.modules["__main__"] while the other tabs' threads are running pages."""
    import sys
    import threading
    import types

    page, page_ran = tmp_path / "page.py", tmp_path / "page-ran"
    page.write_text(f"open({str(page_ran)!r}, 'w').close()\n")
    as_in_streamlit = types.ModuleType("__main__")
    as_in_streamlit.__file__ = str(page)
    monkeypatch.setitem(sys.modules, "__main__", as_in_streamlit)
    seen, stop = set(), threading.Event()

    def another_tab():
        while not stop.is_set():
            seen.add(sys.modules["__main__"])

    tab = threading.Thread(target=another_tab)
    tab.start()
    runner = closing(ProcessRunner(RunStore(tmp_path / "runs"), slots=2))
    stop.set()
    tab.join()
    assert seen == {as_in_streamlit}
    snapshot = wait_until_finished(runner, runner.submit(TINY, "alice"), timeout=120)
    assert snapshot.status == "done", snapshot.message
    assert not page_ran.exists(), "the worker ran the page"
