"""A class on one server: shared frozen-prefix features, fair queueing, bounded telemetry, and faults
that fail one run without stopping the others."""

import json
import threading

import numpy as np
import pytest
import torch

from tests.waiting import wait_for, wait_until_finished
from transfer_core.config import TrainConfig
from transfer_core.errors import StoreUnavailable
from transfer_core.model_inputs import FeatureProgress, FeaturesReady
from transfer_core.runners.run_state import MAX_BATCH_POINTS, Job
from transfer_core.runners.runner import Runner
from transfer_core.store.features import FeatureStore
from transfer_core.store.runs import RunStore
from transfer_core.train import BatchProgress, Cancelled, Done, train

# On the CPU whatever the machine has: runs that share features are compared weight for weight.
PROBE = TrainConfig(dataset="digits", train_per_class=20, val_per_class=10, image_size=32, epochs=2, device="cpu")


@pytest.fixture
def features(tmp_path):
    return FeatureStore(tmp_path / "features", max_bytes=256 * 1024**2)


def finished(events: list) -> Done:
    assert isinstance(events[-1], Done), events[-1]
    return events[-1]


# --- the feature store ----------------------------------------------------------------------------


@pytest.mark.slow
def test_the_second_run_reads_the_first_runs_features_and_trains_identically(features):
    first = list(train(PROBE, features=features))
    second = list(train(PROBE, features=features))
    without = list(train(PROBE))  # no store: computed in memory, the reference
    sources = [[e.source for e in run if isinstance(e, FeaturesReady)] for run in (first, second, without)]
    assert sources == [["computed"], ["stored"], ["memory"]]
    assert features.computed == 1
    progress = [e for e in first if isinstance(e, FeatureProgress)]
    assert progress == [FeatureProgress(200, 300), FeatureProgress(300, 300)]  # train, then validation images
    assert not any(isinstance(e, FeatureProgress) for e in second)
    for run in (second, without):
        for name, weight in finished(run).weights.state_dict().items():
            assert torch.equal(weight, finished(first).weights.state_dict()[name]), name


@pytest.mark.slow
def test_what_determines_the_features_is_in_their_key(features):
    list(train(PROBE, features=features))
    for other in (PROBE.replace(seed=1), PROBE.replace(image_size=48), PROBE.replace(frozen_stages=3)):
        events = list(train(other, features=features))
        assert [e.source for e in events if isinstance(e, FeaturesReady)] == ["computed"], other
    same_features = PROBE.replace(lr=0.01, epochs=1, batch_size=16)  # only what the head does differs
    events = list(train(same_features, features=features))
    assert [e.source for e in events if isinstance(e, FeaturesReady)] == ["stored"]
    assert features.computed == 4


def test_runs_asking_at_once_compute_the_features_once(features):
    results = []

    def run():
        results.append(list(train(PROBE, features=features)))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert features.computed == 1
    sources = sorted(e.source for events in results for e in events if isinstance(e, FeaturesReady))
    assert sources == ["computed", "stored", "stored"]
    assert list(features.root.glob("*.lock")) == [], "the entry's lock goes once the entry is written"


def test_a_lock_left_by_a_stopped_feature_pass_goes_and_one_held_stays(tmp_path):
    from transfer_core.store.features import _entry_lock

    store = FeatureStore(tmp_path, max_bytes=2**20)
    (tmp_path / "stale.lock").touch()  # a run stopped mid-pass: nobody holds it
    with _entry_lock(tmp_path / "busy.lock") as acquire:
        list(acquire)  # another run is computing that entry
        list(store.fetch("a", computed_at_once({"x": torch.zeros(4)}), None))
        assert [p.name for p in tmp_path.glob("*.lock")] == ["busy.lock"]


def computed_at_once(tensors):
    """A feature pass that reports no progress and returns `tensors`."""

    def compute():
        return tensors
        yield  # a generator that yields no progress

    return compute


def test_the_store_is_bounded_and_evicts_the_least_recently_used(tmp_path):
    store = FeatureStore(tmp_path, max_bytes=3 * 4096 + 1000)
    compute = computed_at_once({"x": torch.zeros(1024)})  # 4 kB each
    for key in ("a", "b", "c"):
        assert list(store.fetch(key, compute, None)) == []
    list(store.fetch("a", compute, None))  # read again: now the most recently used
    list(store.fetch("d", compute, None))
    assert sorted(p.stem for p in tmp_path.glob("*.safetensors")) == ["a", "c", "d"]
    assert store.size() <= store.max_bytes


def test_a_full_disk_costs_the_sharing_not_the_run(features, monkeypatch):
    monkeypatch.setattr("transfer_core.store.features.save_file", failing_write)
    done = finished(list(train(PROBE, features=features)))
    assert done.metrics.val_acc > 0.2 and features.size() == 0


def failing_write(*args, **kwargs):
    raise OSError(28, "No space left on device")


def test_cancel_while_waiting_for_anothers_features_ends_the_run(features):
    from transfer_core.model_inputs import Inputs
    from transfer_core.resolve import resolve
    from transfer_core.store.features import _entry_lock

    run = resolve(PROBE)
    key = Inputs(run.model, run.data, PROBE, run.device, cache_prefix=True).prefix_key(salt="")
    features.root.mkdir(parents=True)
    stop, events = threading.Event(), []
    with _entry_lock(features.root / f"{key}.lock") as acquire:
        list(acquire)  # another run holds these features' lock: it is computing them
        for event in train(PROBE, should_stop=stop.is_set, features=features):
            events.append(event)
            if isinstance(event, FeatureProgress) and event.waiting:
                stop.set()
    assert events[-1] == Cancelled(1, 1) and events[-2] == FeatureProgress(0, 300, waiting=True)
    assert features.computed == 0


# --- the runner in a classroom ------------------------------------------------------------------


class Hold:
    """A train function that runs until released; records the order runs started in."""

    def __init__(self):
        self.release, self.started = threading.Event(), []

    def __call__(self, config, should_stop, **context):
        self.started.append(config.seed)
        while not self.release.wait(0.01):
            if should_stop():
                yield Cancelled(1, 1)
                return
        yield Cancelled(1, 1)


def test_one_students_race_does_not_hold_the_classs_single_runs_behind_it(closing, tmp_path):
    hold = Hold()
    runner = closing(Runner(RunStore(tmp_path), slots=1, train_fn=hold))
    race = [runner.submit(TrainConfig(seed=i), "racer") for i in range(6)]
    wait_for(lambda: runner.snapshot(race[0]).status == "running")
    others = [runner.submit(TrainConfig(seed=100 + i), f"student-{i}") for i in range(3)]
    assert [runner.snapshot(r).queue_position for r in others] == [1, 2, 3]
    assert runner.snapshot(race[1]).queue_position == 4
    hold.release.set()
    wait_for(lambda: all(runner.snapshot(r).finished for r in race + others))
    assert hold.started == [0, 100, 101, 102, 1, 2, 3, 4, 5]  # students not yet served go first


def test_a_learners_own_lesson_runs_pass_their_race_and_the_class_stays_fair(closing, tmp_path):
    """A race queues six runs in the background; the same learner's lesson, asked for after it, starts as soon
    as the race's current run ends, not twenty minutes later; another student still gets their turn first."""
    hold = Hold()
    runner = closing(Runner(RunStore(tmp_path), slots=1, train_fn=hold))
    race = [runner.submit(TrainConfig(seed=i), "racer", background=True) for i in range(6)]
    wait_for(lambda: runner.snapshot(race[0]).status == "running")
    lesson = [runner.submit(TrainConfig(seed=200 + i), "racer") for i in range(2)]
    other = runner.submit(TrainConfig(seed=100), "student")
    assert [runner.snapshot(r).queue_position for r in lesson] == [2, 3]  # after the student not yet served
    assert runner.snapshot(other).queue_position == 1
    assert runner.snapshot(race[1]).queue_position == 4
    hold.release.set()
    wait_for(lambda: all(runner.snapshot(r).finished for r in race + lesson + [other]))
    assert hold.started == [0, 100, 200, 201, 1, 2, 3, 4, 5]


def test_the_default_queue_takes_a_class_of_forty(closing, tmp_path):
    hold = Hold()
    runner = closing(Runner(RunStore(tmp_path), slots=1, train_fn=hold))
    ids = [runner.submit(TrainConfig(seed=i), f"student-{i}") for i in range(41)]
    assert len(ids) == 41 and runner.max_queue >= 40


def test_live_batch_points_are_thinned_to_a_bound():
    job = Job("0123456789ab", "alice", TrainConfig())
    for batch in range(1, 5001):
        job.add_batch(BatchProgress(1, 1, batch, 5000, 1.0, 0.5))
    assert MAX_BATCH_POINTS // 2 <= len(job.batches) <= MAX_BATCH_POINTS
    steps = [row["epoch"] for row in job.batches]
    assert steps == sorted(steps) and steps[0] == pytest.approx(1 / 5000) and steps[-1] > 0.9, "spread evenly"


# --- faults ------------------------------------------------------------------------------------------


def test_a_disk_that_refuses_writes_fails_the_run_with_a_message_and_the_next_run_goes_on(
    closing, tmp_path, monkeypatch
):
    store = RunStore(tmp_path)
    runner = closing(Runner(store, slots=1))
    broken = {"on": True}
    original = store.append_metrics

    def append_metrics(run_id, metrics):
        if broken["on"]:
            raise OSError(28, "No space left on device")
        return original(run_id, metrics)

    monkeypatch.setattr(store, "append_metrics", append_metrics)
    tiny = PROBE.replace(backbone="small_cnn", weights="random", frozen_stages=0, epochs=1)
    first = runner.submit(tiny, "alice")
    failed = wait_until_finished(runner, first)
    assert failed.status == "failed" and "cannot save runs right now: No space left on device" in failed.message
    broken["on"] = False  # the disk recovers
    second = runner.submit(tiny, "bob")
    assert wait_until_finished(runner, second).status == "done"


def test_a_store_that_cannot_create_runs_says_so_to_the_student(closing, tmp_path, monkeypatch):
    store = RunStore(tmp_path)
    runner = closing(Runner(store, slots=1, train_fn=Hold()))
    monkeypatch.setattr(
        store, "create", lambda config, owner: (_ for _ in ()).throw(OSError(30, "Read-only file system"))
    )
    with pytest.raises(StoreUnavailable, match="cannot save runs right now: Read-only file system"):
        runner.submit(TrainConfig(), "alice")


def test_a_final_status_the_disk_refuses_is_kept_in_memory_and_the_slot_goes_on(closing, tmp_path, monkeypatch):
    store = RunStore(tmp_path)
    hold = Hold()
    hold.release.set()
    runner = closing(Runner(store, slots=1, train_fn=hold))
    original = store.update

    def update(run_id, **changes):
        if changes.get("status") == "cancelled":
            raise PermissionError(13, "Permission denied")
        return original(run_id, **changes)

    monkeypatch.setattr(store, "update", update)
    first, second = runner.submit(TrainConfig(seed=1), "alice"), runner.submit(TrainConfig(seed=2), "alice")
    wait_for(lambda: runner.snapshot(first).finished and runner.snapshot(second).finished)
    assert runner.snapshot(first).status == "failed" and "cannot save runs" in runner.snapshot(first).message
    assert hold.started == [1, 2]


def test_two_writers_of_one_runs_metadata_never_corrupt_or_lose_a_change(tmp_path):
    store = RunStore(tmp_path)
    run_ids = [store.create(TrainConfig(), "alice") for _ in range(400)]

    def finish(run_id):
        store.update(run_id, status="done", message="finished")

    def share(run_id):
        store.update(run_id, shared=True)

    for run_id in run_ids:  # the worker finishing while the Ledger's Share button writes
        writers = [threading.Thread(target=finish, args=(run_id,)), threading.Thread(target=share, args=(run_id,))]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
    records, damaged = store.scan()
    assert damaged == [] and len(records) == 400
    assert all(r.status == "done" and r.shared and r.message == "finished" for r in records)


def test_a_damaged_run_is_reported_and_never_breaks_anyone_elses_view_or_a_restart(closing, tmp_path):
    store = RunStore(tmp_path)
    good = store.create(TrainConfig(), "alice")
    bad = store.create(TrainConfig(), "bob")
    (tmp_path / bad / "meta.json").write_text('{"owner": "bob", "stat')  # torn by a crash or a full disk
    assert [r.run_id for r in store.list("alice")] == [good]
    assert store.scan() == ([store.load(good)], [bad])
    runner = closing(Runner(store, slots=1, train_fn=Hold()))  # a server restart over this store
    assert [s.run_id for s in runner.list("alice")] == [good]


def test_start_up_recovery_marks_what_was_in_flight_and_keeps_what_it_recorded(closing, tmp_path):
    store = RunStore(tmp_path)
    done = store.create(TrainConfig(), "alice")
    store.save_weights(done, {"w": torch.ones(1)})
    store.update(done, status="done")
    running = store.create(TrainConfig(), "alice")
    store.update(running, status="running")
    queued = store.create(TrainConfig(), "alice")
    meta = json.loads((tmp_path / queued / "meta.json").read_text())
    (tmp_path / queued / "meta.json").write_text(json.dumps(meta | {"process": "an-earlier-server"}))
    from tests.test_runs import epoch

    store.append_metrics(running, epoch(1, 0.5))
    meta = json.loads((tmp_path / running / "meta.json").read_text())
    (tmp_path / running / "meta.json").write_text(json.dumps(meta | {"process": "an-earlier-server"}))
    runner = closing(Runner(store, slots=1, train_fn=Hold()))
    assert sorted(runner.interrupted) == sorted([running, queued])
    assert store.load(done).status == "done" and torch.equal(store.load_weights(done)["w"], torch.ones(1))
    assert store.load(running).status == "interrupted" and store.load(running).summary.final_val_acc == 0.5
    assert "stopped during this run" in store.load(running).message
    assert store.load(queued).status == "interrupted" and "never trained" in store.load(queued).message


# --- server folders ----------------------------------------------------------------------------------


def class_folders(root, colours=(("red", (220, 30, 30)), ("blue", (30, 30, 220))), per_class=6):
    from tests.archives import png_bytes

    for name, colour in colours:
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            (root / name / f"{i}.png").write_bytes(png_bytes(colour, seed=i))
    return root


def test_a_session_reads_server_folders_only_under_the_shared_roots(tmp_path, monkeypatch):
    from transfer_core.errors import DatasetUnavailable
    from transfer_core.resolve import available, raw_dataset

    shared = class_folders(tmp_path / "shared" / "pets")
    private = class_folders(tmp_path / "home" / "student-a" / "datasets" / "secret")
    monkeypatch.delenv("TRANSFER_LAB_FOLDER_ROOTS", raising=False)
    with pytest.raises(DatasetUnavailable, match="reads no folders of its own") as caught:
        raw_dataset(f"folder:{shared}", owner="student-b")
    assert str(shared) not in str(caught.value)
    monkeypatch.setenv("TRANSFER_LAB_FOLDER_ROOTS", str(tmp_path / "shared"))
    assert raw_dataset(f"folder:{shared}", owner="student-b").classes == ["blue", "red"]
    for outside in (private, tmp_path / "home" / "nothing-here", tmp_path / "shared" / ".." / "home" / "student-a"):
        with pytest.raises(DatasetUnavailable, match="not under a folder this server shares") as caught:
            raw_dataset(f"folder:{outside}", owner="student-b")
        assert "exist" not in str(caught.value) and "is not a folder" not in str(caught.value)
        assert available(f"folder:{outside}", "student-b")[0] is False
    assert raw_dataset(f"folder:{private}", owner=None).classes == ["blue", "red"]  # the command line: any folder


def test_students_saved_datasets_stay_private_under_a_root_that_holds_the_data_folder(tmp_path, monkeypatch):
    from transfer_core import settings
    from transfer_core.errors import DatasetUnavailable
    from transfer_core.resolve import raw_dataset

    saved = class_folders(settings.current().data_dir / "users" / "0123abcd" / "datasets" / "secret")
    monkeypatch.setenv("TRANSFER_LAB_FOLDER_ROOTS", str(settings.current().home))  # an operator shares too much
    with pytest.raises(DatasetUnavailable, match="not under a folder this server shares"):
        raw_dataset(f"folder:{saved}", owner="student-b")
    with pytest.raises(DatasetUnavailable, match="not under a folder this server shares"):
        raw_dataset(f"folder:{settings.current().data_dir}/users/../users/0123abcd/datasets/secret", owner="student-b")


def test_a_shared_folder_is_read_with_the_upload_limits(tmp_path, monkeypatch):
    from transfer_core.data.shared_folders import read_shared_folder
    from transfer_core.errors import DatasetUnavailable
    from transfer_core.settings import UploadLimits

    shared = class_folders(tmp_path / "pets", per_class=6)
    (shared / "red" / "notes.png").write_bytes(b"not an image at all")
    monkeypatch.setenv("TRANSFER_LAB_FOLDER_ROOTS", str(tmp_path))
    dataset = read_shared_folder(str(shared), UploadLimits(min_per_class=3))
    assert len(dataset.images) == 12, "the unreadable file is left out"
    with pytest.raises(DatasetUnavailable, match="more than 10 images"):
        read_shared_folder(str(shared), UploadLimits(members=10, min_per_class=3))
    with pytest.raises(DatasetUnavailable, match="more than 0 MB of images"):  # counted while reading
        read_shared_folder(str(shared), UploadLimits(unpacked_mb=0, min_per_class=3))


def test_a_shared_folders_classes_are_counted_without_decoding_an_image(tmp_path, monkeypatch):
    """Checking a folder link's memory budget at submit must not make the web server read the folder."""
    from transfer_core.data import shared_folders
    from transfer_core.resolve import class_count

    shared = class_folders(tmp_path / "pets")
    monkeypatch.setenv("TRANSFER_LAB_FOLDER_ROOTS", str(tmp_path))
    monkeypatch.setattr(shared_folders, "import_files", lambda *args: pytest.fail("an image was decoded"))
    assert class_count(TrainConfig(dataset=f"folder:{shared}"), owner="student-b") == 2


@pytest.mark.parametrize("linked", ["a class folder", "an image"])
def test_a_link_out_of_a_shared_folder_is_refused_by_name(tmp_path, monkeypatch, linked):
    """A share whose class folder (or image) is a link to another student's saved data is not read."""
    from transfer_core import settings
    from transfer_core.errors import DatasetUnavailable
    from transfer_core.resolve import raw_dataset

    saved = class_folders(settings.current().data_dir / "users" / "0123abcd" / "datasets" / "secret")
    shared = class_folders(tmp_path / "shared" / "pets")
    if linked == "a class folder":
        (shared / "green").symlink_to(saved / "red", target_is_directory=True)
        named = "green"
    else:
        (shared / "red" / "stolen.png").symlink_to(saved / "red" / "0.png")
        named = "red/stolen.png"
    monkeypatch.setenv("TRANSFER_LAB_FOLDER_ROOTS", str(tmp_path / "shared"))
    with pytest.raises(DatasetUnavailable, match=f"{named} links outside the shared folder"):
        raw_dataset(f"folder:{shared}", owner="student-b")


class ManualClock:
    """The runner's clock, moved by the test: waits and closed tabs measured whatever the machine's load."""

    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def held_runner(tmp_path):
    """A one-slot runner whose runs hold until released, on a clock the test moves."""
    hold, clock = Hold(), ManualClock()
    runner = Runner(RunStore(tmp_path), slots=1, train_fn=hold, abandoned_seconds=30, clock=clock)
    yield runner, hold, clock
    hold.release.set()
    runner.close()


def test_a_queued_student_sees_an_estimate_of_the_wait_from_recent_runs(held_runner):
    runner, hold, clock = held_runner
    first = runner.submit(TrainConfig(seed=1), "alice")
    waiting = runner.submit(TrainConfig(seed=2), "bob")
    wait_for(lambda: runner.snapshot(first).status == "running")
    assert runner.snapshot(waiting).wait_seconds is None, "no run has finished: nothing to estimate from"
    clock.now = 40.0  # alice's run held the slot for 40 s
    hold.release.set()
    wait_for(lambda: runner.snapshot(waiting).finished)  # bob's took no time: released already
    hold.release.clear()
    carol = runner.submit(TrainConfig(seed=3), "carol")
    wait_for(lambda: runner.snapshot(carol).status == "running")
    clock.now = 50.0  # carol has trained for 10 s
    third = runner.submit(TrainConfig(seed=4), "dave")
    fourth = runner.submit(TrainConfig(seed=5), "erin")
    typical = 40.0  # the median of the finished runs' durations (40 s and 0 s): the larger of two
    assert runner.snapshot(third).wait_seconds == pytest.approx(typical - 10)  # carol's run has 30 s left
    assert runner.snapshot(fourth).wait_seconds == pytest.approx(typical - 10 + typical)  # then dave's
    assert runner.snapshot(first).wait_seconds is None  # finished runs wait for nothing


def test_a_closed_tabs_queued_runs_are_not_started_unless_kept(held_runner):
    runner, hold, clock = held_runner  # a tab that asks about nothing for 30 s is taken as closed
    busy = runner.submit(TrainConfig(seed=1), "present")
    wait_for(lambda: runner.snapshot(busy).status == "running")
    gone = runner.submit(TrainConfig(seed=2), "closed-tab")
    kept = runner.submit(TrainConfig(seed=3), "closed-tab", keep=True)  # a layer lab's run
    staying = runner.submit(TrainConfig(seed=4), "present")
    clock.now = 29.0
    runner.seen("present")  # the present student's tab keeps asking; the closed one does not
    clock.now = 31.0
    hold.release.set()
    wait_for(lambda: all(runner.snapshot(r).finished for r in (busy, gone, kept, staying)))
    assert runner.snapshot(gone).status == "cancelled" and "its tab was closed" in runner.snapshot(gone).message
    assert runner.snapshot(gone).message.endswith("(nothing from it for 0.5 min)")
    assert hold.started == [1, 3, 4]


def test_a_gone_tabs_memory_is_released_and_its_saved_data_stays():
    from transfer_core.data import session_memory, user_data
    from transfer_core.data.registry import RawDataset

    dataset = RawDataset(np.zeros((4, 8, 8, 3), np.uint8), np.array([0, 0, 1, 1]), ["a", "b"])
    for owner in ("gone", "here"):
        session_memory.MEMORY.datasets.setdefault(owner, {})["shots"] = dataset
        session_memory.seen(owner)
    session_memory.MEMORY.last_seen["gone"] -= 3600  # an hour ago
    assert session_memory.release_idle(1800) == ["gone"]
    assert user_data.session_datasets("gone") == {} and "shots" in user_data.session_datasets("here")


def test_the_runner_forgets_students_it_no_longer_needs_and_the_queue_keeps_its_order(tmp_path, closing, monkeypatch):
    monkeypatch.setattr("transfer_core.runners.runner.SERVED_KEPT", 8)
    hold, clock = Hold(), ManualClock()
    runner = closing(Runner(RunStore(tmp_path), slots=1, train_fn=hold, abandoned_seconds=30, clock=clock))
    hold.release.set()
    for i in range(20):  # twenty students, one after another, each with one run
        wait_until_finished(runner, runner.submit(TrainConfig(seed=i), f"student-{i}"))
    assert len(runner._served) <= 8 and "student-19" in runner._served and "student-0" not in runner._served
    clock.now += 31  # every tab closed half a minute ago
    wait_until_finished(runner, runner.submit(TrainConfig(seed=99), "late"))
    assert set(runner._seen) == {"late"}, "only the student of now"

    hold.release.clear()  # the order a forgotten student and a remembered one start in is still fair
    busy = runner.submit(TrainConfig(seed=100), "late")
    wait_for(lambda: runner.snapshot(busy).status == "running")
    recent, forgotten = (runner.submit(TrainConfig(seed=i), f"student-{i}") for i in (19, 0))
    assert runner.snapshot(forgotten).queue_position == 1 and runner.snapshot(recent).queue_position == 2
    hold.release.set()
