"""The Ray runner against a real local Ray (one per test session: it takes seconds to start).

The test Ray declares one GPU it does not have, so that a run asking for CUDA can be seen to get a GPU
from Ray while a CPU run gets none; no test here touches CUDA itself.
"""

import os
import signal
import subprocess
import time

import pytest

from tests.faults import refused_run, sleeper, where_placed
from tests.shown import shown
from tests.waiting import wait_for, wait_until_finished
from transfer_core.analysis.validation import load_trained_model, validation_report
from transfer_core.config import TrainConfig
from transfer_core.errors import ConfigError, RunNotFound
from transfer_core.resolve import verified_data
from transfer_core.store.features import FeatureStore
from transfer_core.store.runs import RunStore

ray = pytest.importorskip("ray", reason="Ray is in requirements.txt: run scripts/test.sh")  # noqa: F841
from transfer_core.runners import ray_cluster  # noqa: E402
from transfer_core.runners.ray_cluster import RayRunner, start_ray  # noqa: E402

pytestmark = pytest.mark.slow  # every test here uses a Ray started on this machine (seconds each)

SLOW = TrainConfig(frozen_stages=0, epochs=50, lr=3e-4)  # full fine-tuning: minutes, long enough to stop


@pytest.fixture(scope="session")
def local_ray(tmp_path_factory):
    home = tmp_path_factory.mktemp("ray-home")
    # Ray's workers take the environment of the process that starts Ray: the tests' offline settings.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRANSFER_LAB_HOME", str(home))
        patch.setenv("TRANSFER_LAB_OFFLINE", "1")
        patch.setenv("TORCH_HOME", str(home / "torch"))
        started = time.monotonic()
        start_ray(num_cpus=2, num_gpus=1)
        print(f"local Ray started in {time.monotonic() - started:.1f} s")
    yield
    import ray

    ray.shutdown()


@pytest.fixture
def runner(local_ray, tmp_path):
    runner = RayRunner(RunStore(tmp_path / "runs"), features=FeatureStore(tmp_path / "features", 10**9))
    yield runner
    runner.close()


# A probe on digits: seconds. The browser's cold Ray server trains the default lab itself.
PROBE = TrainConfig(dataset="digits", train_per_class=20, val_per_class=20, epochs=3)


def test_a_lab_trains_on_ray_live_lands_in_the_store_and_only_its_owner_sees_it(runner):
    assert runner.slots == 2  # the cluster's 2 CPUs, one per run
    run_id = runner.submit(PROBE, "alice")
    live = []
    while not (snapshot := runner.snapshot(run_id, owner="alice")).finished:
        if snapshot.status == "running" and (snapshot.features or snapshot.batches or snapshot.metrics):
            live.append(snapshot)
        with pytest.raises(RunNotFound):  # another student, through the app: no Ray call is made for them
            runner.snapshot(run_id, owner="bob")
        with pytest.raises(RunNotFound):
            runner.cancel(run_id, owner="bob")
        time.sleep(0.05)
    assert snapshot.status == "done", snapshot.message
    assert live, "no event reached the snapshot while the run trained"
    assert len(snapshot.metrics) == PROBE.epochs and snapshot.summary.final_val_acc > 0.6
    record = runner.store.load(run_id)
    assert record.status == "done" and len(record.metrics) == PROBE.epochs
    assert record.trained_on.endswith("· cpu")
    # The weights that came back through Ray are the trained model's: they score what the run measured.
    model = load_trained_model(record.config, len(record.classes), runner.store.load_weights(run_id))
    report = validation_report(record.config, record.classes, model, verified_data(record))
    assert report.accuracy == pytest.approx(snapshot.summary.final_val_acc, abs=0.003)
    assert [r.run_id for r in runner.store.list("bob")] == []


def test_stop_reaches_the_task_within_a_batch(runner):
    run_id = runner.submit(SLOW, "alice")
    wait_for(lambda: runner.snapshot(run_id).batches, timeout=120)
    asked = time.monotonic()
    assert runner.cancel(run_id, owner="alice")
    wait_for(lambda: runner.snapshot(run_id).finished, timeout=30)
    stopped_in = time.monotonic() - asked
    snapshot = runner.snapshot(run_id)
    assert snapshot.status == "cancelled" and snapshot.message.startswith("cancelled in epoch 1"), snapshot.message
    assert stopped_in < 5, stopped_in
    assert runner.store.load(run_id).status == "cancelled"


def test_a_task_killed_mid_run_fails_its_run_with_a_message_and_the_next_run_trains(runner, tiny_config):
    run_id = runner.submit(SLOW, "alice")
    wait_for(lambda: runner.snapshot(run_id).batches, timeout=120)
    for pid in task_pids("train_on_ray"):
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: runner.snapshot(run_id).finished, timeout=60)
    snapshot = runner.snapshot(run_id)
    assert snapshot.status == "failed" and "was lost" in snapshot.message, snapshot.message
    after = runner.submit(tiny_config, "alice")
    wait_for(lambda: runner.snapshot(after).finished, timeout=120)
    assert runner.snapshot(after).status == "done", runner.snapshot(after).message


def task_pids(name: str) -> list[int]:
    """Ray names a worker process after the task it runs: ray::<function>."""
    pids = running_tasks(name)
    assert pids, f"no process runs ray::{name}"
    return pids


def running_tasks(name: str) -> list[int]:
    ps = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True, check=True).stdout
    return [int(line.split()[0]) for line in ps.splitlines() if f"ray::{name}" in line]


def test_a_run_the_store_refuses_stops_its_task_and_the_next_run_records_only_its_own(runner, tiny_config, monkeypatch):
    long_run = tiny_config.replace(epochs=300, seed=5)
    lasting = refused_run(runner, monkeypatch, long_run, OSError(30, "Read-only file system"))
    failed = wait_until_finished(runner, lasting, timeout=120)
    assert failed.status == "failed" and "cannot save runs right now: Read-only file system" in failed.message
    wait_for(lambda: not running_tasks("train_on_ray"), 30, "the failed run's Ray task stopping", interval=0.2)
    after = wait_until_finished(runner, runner.submit(tiny_config, "wen"), timeout=120)
    assert after.status == "done", after.message
    assert [m.epoch for m in runner.store.metrics(after.run_id)] == [1, 2]


def test_a_cuda_run_asks_ray_for_a_gpu_and_a_cpu_run_never_holds_one(local_ray, tmp_path, closing):
    runner = closing(RayRunner(RunStore(tmp_path), train_fn=where_placed))
    wants = {device: runner.submit(TrainConfig(device=device), "alice") for device in ("cuda", "auto", "cpu")}
    wait_for(lambda: all(runner.snapshot(r).finished for r in wants.values()), timeout=60)
    said = {device: runner.snapshot(r).message for device, r in wants.items()}
    assert said == {"cuda": "device=cuda gpus=[0]", "auto": "device=cpu gpus=[]", "cpu": "device=cpu gpus=[]"}


def test_a_cuda_run_is_refused_when_no_machine_has_a_gpu(runner, monkeypatch):
    monkeypatch.setattr(ray_cluster, "cluster_gpus", lambda: 0.0)
    with pytest.raises(ConfigError, match="no machine in the Ray cluster has a GPU"):
        runner.submit(TrainConfig(device="cuda"), "alice")
    assert not runner.offers_cuda() and runner.store.list("alice") == []


def test_runs_submitted_together_train_side_by_side(local_ray, tmp_path, closing):
    runner = closing(RayRunner(RunStore(tmp_path), train_fn=sleeper))
    runs = [runner.submit(TrainConfig(seed=i), "alice") for i in range(2)]
    # Each holds its slot for 15 s after its first batch: both training at one moment means side by side.
    wait_for(lambda: all(runner.snapshot(r).batches and runner.snapshot(r).status == "running" for r in runs),
             timeout=30)  # fmt: skip


@pytest.mark.usefixtures("fresh_runner")
def test_the_app_on_ray_says_where_runs_train_and_offers_the_clusters_gpu(local_ray, monkeypatch, tiny_config):
    from tests.apptest import open_app, trained
    from ui.session import get_runner

    monkeypatch.setenv("TRANSFER_LAB_RUNNER", "ray")
    at = trained(tiny_config)
    assert isinstance(get_runner(), RayRunner)
    assert "Ray cluster: 1 machine(s), 2 CPUs, 1 GPUs" in shown("".join(m.value for m in at.sidebar.markdown))
    at.switch_page("app_pages/results.py").run()
    assert any(shown(c.value).startswith("Trained on: ") and c.value.endswith("· cpu") for c in at.caption)
    transfer = open_app("app_pages/transfer.py")
    assert "CUDA (GPU)" in next(r for r in transfer.radio if r.label == "Device").options


@pytest.mark.usefixtures("fresh_runner")
def test_an_unreachable_cluster_leaves_runs_on_this_server_and_every_page_says_so(monkeypatch):
    from tests.apptest import open_app
    from tests.test_browser import free_port
    from transfer_core.runners.processes import ProcessRunner
    from ui.session import get_runner

    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    monkeypatch.setenv("TRANSFER_LAB_RUNNER", "ray")
    monkeypatch.setenv("RAY_ADDRESS", address)
    started = time.monotonic()
    at = open_app("app_pages/transfer.py")
    assert time.monotonic() - started < 30  # Ray's own connect would wait minutes
    assert isinstance(get_runner(), ProcessRunner)
    warning = shown(at.sidebar.warning[0].value)
    assert f"Runs train on this server: the Ray cluster at {address} does not answer" in warning
