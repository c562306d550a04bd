import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from transfer_core.config import TrainConfig
from transfer_core.errors import RunNotFound
from transfer_core.metrics import EpochMetrics
from transfer_core.store.runs import RunStore


def epoch(n: int, val_acc: float) -> EpochMetrics:
    return EpochMetrics(n, 1.0, 0.5, 1.0, val_acc, 2.0, 100.0)


def test_a_run_keeps_config_status_metrics_weights_and_owner(tmp_path):
    store = RunStore(tmp_path / "runs")
    config = TrainConfig(epochs=3, seed=5)
    run_id = store.create(config, owner="alice")
    store.update(run_id, status="running", classes=["a", "b"])
    store.append_metrics(run_id, epoch(1, 0.5))
    store.append_metrics(run_id, epoch(2, 0.6))
    store.save_weights(run_id, {"head.weight": torch.ones(2, 3)})
    store.update(run_id, status="done")

    record = RunStore(tmp_path / "runs").load(run_id)  # a new store object reads it back from disk
    assert (record.owner, record.status, record.config) == ("alice", "done", config)
    assert record.metrics == [epoch(1, 0.5), epoch(2, 0.6)], "typed, as they were written"
    assert (record.summary.final_val_acc, record.summary.best_val_acc, record.summary.seconds) == (0.6, 0.6, 4.0)
    assert record.classes == ["a", "b"] and record.finished is not None
    assert torch.equal(store.load_weights(run_id)["head.weight"], torch.ones(2, 3))


def test_list_filters_by_owner_newest_first(tmp_path):
    store = RunStore(tmp_path)
    first = store.create(TrainConfig(), "alice")
    store.create(TrainConfig(), "bob")
    second = store.create(TrainConfig(), "alice")
    assert [r.run_id for r in store.list("alice")] == [second, first]
    assert len(store.list()) == 3


@pytest.mark.parametrize("bad_id", ["../etc", "nope", "0123456789ab"])
def test_unknown_or_malicious_run_ids_are_not_found(tmp_path, bad_id):
    with pytest.raises(RunNotFound):
        RunStore(tmp_path).load(bad_id)


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_run_whose_process_died_is_found_as_interrupted(tmp_path):
    store = RunStore(tmp_path)
    running, queued, finished = (store.create(TrainConfig(), "alice") for _ in range(3))
    store.update(running, status="running")
    store.update(finished, status="done")
    for run_id in (running, queued, finished):  # as if another process, now gone, had written them
        meta_path = tmp_path / run_id / "meta.json"
        meta = json.loads(meta_path.read_text())
        meta_path.write_text(json.dumps(meta | {"pid": dead_pid()}))

    assert sorted(RunStore(tmp_path).recover_interrupted()) == sorted([running, queued])
    assert store.load(running).status == "interrupted" and "stopped" in store.load(running).message
    assert store.load(finished).status == "done"


def test_a_run_whose_pid_another_process_now_has_is_found_as_interrupted(tmp_path):
    """After a restart the recorded pid may be someone else's: the process's start time tells them apart."""
    import os

    from transfer_core.store.runs import process_alive, process_start

    store = RunStore(tmp_path)
    reused, alive = store.create(TrainConfig(), "alice"), store.create(TrainConfig(), "bob")
    parent = os.getppid()  # a live process other than this one
    assert process_start(parent) is not None, "Linux's /proc tells when a process started"
    for run_id, started in ((reused, process_start(parent) - 1), (alive, process_start(parent))):
        meta_path = tmp_path / run_id / "meta.json"
        meta = json.loads(meta_path.read_text()) | {"status": "running", "pid": parent, "started": started}
        meta_path.write_text(json.dumps(meta))
        assert process_alive(meta) is (run_id == alive)
    assert RunStore(tmp_path).recover_interrupted() == [reused]


def test_runs_of_this_live_process_are_not_interrupted(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create(TrainConfig(), "alice")
    store.update(run_id, status="running")
    assert store.recover_interrupted() == []


def test_delete_removes_a_finished_run_and_refuses_a_live_one(tmp_path):
    from transfer_core.errors import RunStillLive

    store = RunStore(tmp_path)
    done, live = store.create(TrainConfig(), "alice"), store.create(TrainConfig(), "alice")
    store.update(done, status="done")
    store.delete(done)
    with pytest.raises(RunNotFound):
        store.load(done)
    with pytest.raises(RunStillLive, match="stop it before deleting"):
        store.delete(live)
    assert [r.run_id for r in store.list()] == [live]


def test_only_shared_runs_are_listed_for_the_class(tmp_path):
    store = RunStore(tmp_path)
    private, public = store.create(TrainConfig(), "alice"), store.create(TrainConfig(), "bob")
    store.update(public, shared=True)
    assert [r.run_id for r in store.shared()] == [public]
    assert not store.load(private).shared


def test_an_exported_model_reloads_with_identical_predictions(tmp_path, tiny_config):
    from transfer_core.analysis.validation import load_exported
    from transfer_core.data.preparation import normalize
    from transfer_core.models.backbones import get_spec
    from transfer_core.models.strategies import build_model
    from transfer_core.resolve import prepared_data
    from transfer_core.train import Done, train

    store = RunStore(tmp_path / "runs")
    run_id = store.create(tiny_config, "alice")
    done = [e for e in train(tiny_config) if isinstance(e, Done)][0]
    store.save_weights(run_id, done.weights.state_dict())
    store.update(run_id, status="done", classes=[str(d) for d in range(10)])
    archive = tmp_path / "model.zip"
    archive.write_bytes(store.export_zip(run_id))

    config, classes, model = load_exported(archive)
    trained = build_model(tiny_config.replace(weights="random"), 10).eval()  # the model as training left it
    trained.load_state_dict(done.weights.state_dict())
    assert config == tiny_config and classes == [str(d) for d in range(10)]
    images = normalize(prepared_data(tiny_config, None).val_x[:32], get_spec(tiny_config.backbone).preprocessing)
    with torch.no_grad():
        torch.testing.assert_close(model(images), trained(images), rtol=0, atol=0)


def test_a_reader_skips_a_metrics_line_still_being_written(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create(TrainConfig(), "alice")
    store.append_metrics(run_id, epoch(1, 0.5))
    with open(tmp_path / run_id / "metrics.jsonl", "a") as f:
        f.write('{"epoch": 2, "train_lo')  # a writer caught halfway through its line
    assert store.metrics(run_id) == [epoch(1, 0.5)]
    assert store.load(run_id).summary.epochs == 1


def test_writes_leave_no_temporary_files_behind(tmp_path):
    store = RunStore(tmp_path)
    run_id = store.create(TrainConfig(), "alice")
    store.update(run_id, status="running")
    store.save_weights(run_id, {"w": torch.ones(2)})
    store.save_record(run_id, 0, np.arange(3), np.zeros((3, 4), np.float16), {"stem": 0.0})
    names = {p.name for p in (tmp_path / run_id).rglob("*")}
    assert names == {
        "config.json", "meta.json", "weights.safetensors", "records", "epoch_000.npz", "drift.jsonl", ".lock"
    }  # fmt: skip


# --- the per-owner index ---------------------------------------------------------------------------


@pytest.fixture
def loads(monkeypatch):
    """The ids of the runs whose files `RunStore.load` reads, in order."""
    read, load = [], RunStore.load
    monkeypatch.setattr(RunStore, "load", lambda store, run_id: read.append(run_id) or load(store, run_id))
    return read


def test_a_listing_reads_only_the_runs_it_shows_however_many_the_class_has(tmp_path, loads):
    store = RunStore(tmp_path)
    others = [store.create(TrainConfig(), f"student-{i % 10}") for i in range(40)]
    mine = [store.create(TrainConfig(), "alice") for _ in range(2)]
    store.update(others[3], shared=True)
    loads.clear()
    assert sorted(r.run_id for r in store.list("alice")) == sorted(mine)
    assert sorted(loads) == sorted(mine)
    loads.clear()
    assert [r.run_id for r in store.shared()] == [others[3]] and loads == [others[3]]
    store.update(others[3], shared=False)
    assert store.shared() == []


def test_a_damaged_run_is_named_to_its_owner_only(tmp_path):
    store = RunStore(tmp_path)
    alices, bobs = store.create(TrainConfig(), "alice"), store.create(TrainConfig(), "bob")
    (tmp_path / bobs / "config.json").write_text("{not json")
    assert store.scan("alice") == ([store.load(alices)], [])
    assert store.scan("bob") == ([], [bobs])


def test_runs_stored_before_the_index_are_indexed_once_and_deleted_runs_leave_it(tmp_path, loads):
    import shutil

    store = RunStore(tmp_path)
    alices, bobs = store.create(TrainConfig(), "alice"), store.create(TrainConfig(), "bob")
    store.update(bobs, shared=True)
    shutil.rmtree(tmp_path / ".index")  # a runs folder from before the index
    reopened = RunStore(tmp_path)
    assert [r.run_id for r in reopened.list("alice")] == [alices]
    assert [r.run_id for r in reopened.shared()] == [bobs]
    loads.clear()
    assert [r.run_id for r in reopened.list("bob")] == [bobs] and loads == [bobs], "indexed: no full scan again"
    reopened.update(alices, status="done")
    reopened.delete(alices)
    assert reopened.list("alice") == [] and not any((tmp_path / ".index").rglob(alices))


def test_a_store_whose_index_cannot_be_written_still_lists_each_owners_runs(tmp_path, monkeypatch):
    import shutil

    from transfer_core.store.run_index import RunIndex

    store = RunStore(tmp_path)
    alices, bobs = store.create(TrainConfig(), "alice"), store.create(TrainConfig(), "bob")
    store.update(bobs, shared=True)
    shutil.rmtree(tmp_path / ".index")  # a folder from before the index, on a disk that is now full

    def disk_full(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(RunIndex, "ensure_complete", disk_full)
    assert [r.run_id for r in store.list("alice")] == [alices]
    assert [r.run_id for r in store.shared()] == [bobs]
