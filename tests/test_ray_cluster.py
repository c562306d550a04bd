"""The Ray runner past one machine: a Ray cluster of two worker nodes on this machine (Ray's cluster_utils),
each with one CPU of its own, as two machines of a school's cluster would be. The head node offers no CPU,
so every run lands on a worker node, and a worker node can be killed without killing the cluster.

Runs spread over both nodes; a node killed mid-run fails that run with a message, and the next runs train
on the node that is left, each recording only its own epochs; and the fault tests of tests/test_faults.py
pass on the cluster as they do on the thread and process runners.
"""

import time

import pytest

from tests import test_faults
from tests.faults import holding_a_node, misbehaving
from tests.waiting import wait_for, wait_until_finished
from transfer_core.config import TrainConfig
from transfer_core.store.runs import RunStore

ray = pytest.importorskip("ray", reason="Ray is in requirements.txt: run scripts/test.sh")
from ray.cluster_utils import Cluster  # noqa: E402

from transfer_core.runners.ray_cluster import RayRunner  # noqa: E402

pytestmark = pytest.mark.slow  # a cluster of three Ray nodes starts in seconds

HOLD = TrainConfig(seed=100)  # holding_a_node: says where it runs, then holds that node's CPU


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """(the cluster, its Ray home folder, where runs write which node they landed on)."""
    if ray.is_initialized():  # a Ray of another test module: one driver talks to one cluster
        ray.shutdown()
    home = tmp_path_factory.mktemp("cluster-home")
    with pytest.MonkeyPatch.context() as patch:  # the nodes' workers take this environment
        patch.setenv("TRANSFER_LAB_HOME", str(home))
        patch.setenv("TRANSFER_LAB_OFFLINE", "1")
        patch.setenv("TORCH_HOME", str(home / "torch"))
        started = time.monotonic()
        small = {"object_store_memory": 100 * 1024**2}
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False, **small})
        for _ in range(2):
            cluster.add_node(num_cpus=1, **small)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
        print(f"a Ray cluster of {len(cluster.list_all_nodes())} nodes started in {time.monotonic() - started:.1f} s")
    yield cluster, home
    ray.shutdown()
    cluster.shutdown()


def placed_on(home, seed: int) -> str:
    path = home / "placed" / str(seed)
    wait_for(path.exists, 120, f"run of seed {seed} starting on a node", interval=0.2)
    return path.read_text()


def worker_node_ids(cluster) -> set[str]:
    return {node.node_id for node in cluster.worker_nodes}


def test_runs_spread_over_both_nodes(cluster, tmp_path, closing):
    cluster, home = cluster
    runner = closing(RayRunner(RunStore(tmp_path / "runs"), train_fn=holding_a_node))
    assert runner.slots == 2, "one run per worker node's CPU"
    runs = [runner.submit(HOLD.replace(seed=seed), "alice") for seed in (100, 101)]
    nodes = {placed_on(home, 100), placed_on(home, 101)}
    assert nodes == worker_node_ids(cluster), "each node trains one of the two runs at once"
    for run_id in runs:
        runner.cancel(run_id, owner="alice")


def test_the_fault_tests_of_the_other_runners_pass_on_the_cluster(cluster, tmp_path, closing, monkeypatch):
    runner = closing(RayRunner(RunStore(tmp_path / "runs"), train_fn=misbehaving))
    test_faults.test_a_store_that_refuses_a_write_fails_that_run_and_the_next_run_records_only_its_own(
        runner, monkeypatch
    )
    test_faults.test_a_damaged_record_fails_its_run_and_the_queue_goes_on(runner)
    test_faults.test_a_worker_keeps_no_sessions_data_after_its_run(runner)


def test_a_node_killed_mid_run_fails_that_run_and_the_next_runs_train_on_the_other(
    cluster, tmp_path, closing, tiny_config
):
    cluster, home = cluster
    runner = closing(RayRunner(RunStore(tmp_path / "runs"), train_fn=holding_a_node))
    lost = runner.submit(HOLD.replace(seed=102), "alice")
    node_id = placed_on(home, 102)
    node = next(node for node in cluster.worker_nodes if node.node_id == node_id)
    cluster.remove_node(node, allow_graceful=False)  # the machine goes down
    failed = wait_until_finished(runner, lost, timeout=120)
    assert failed.status == "failed" and "was lost" in failed.message, failed.message
    assert runner.store.load(lost).status == "failed"

    after = wait_until_finished(runner, runner.submit(tiny_config, "wen"), timeout=180)
    assert after.status == "done", after.message
    assert [m.epoch for m in runner.store.metrics(after.run_id)] == [1, 2], "its own epochs, nobody else's"
    assert len(cluster.worker_nodes) == 1
