from types import SimpleNamespace

import pytest
import torch

from tests.waiting import wait_for
from transfer_core import settings as server_settings
from transfer_core.errors import ConfigError
from transfer_core.lessons.layer_lab import (
    KINDS,
    LabSettings,
    LayerLab,
    class_halves,
    lab_points,
    lab_verdict,
    transfer_config,
)
from transfer_core.lessons.questions import CLOSE
from transfer_core.resolve import model_for
from transfer_core.runners.runner import Runner
from transfer_core.store.runs import RunStore

TINY = LabSettings(dataset="digits", train_per_class=20, val_per_class=10, image_size=16, epochs=1)


def run_lab(settings: LabSettings) -> tuple[Runner, dict]:
    runner = Runner(RunStore(server_settings.current().runs_dir))
    lab = LayerLab(runner, "teacher", settings)
    wait_for(lambda: lab.state["status"] != "running", 180, "the layer lab finishing", interval=0.2)
    return runner, lab.state


@pytest.fixture(scope="module")
def finished_lab(tmp_path_factory):
    home = tmp_path_factory.mktemp("lab")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRANSFER_LAB_RUNS", str(home / "runs"))
        patch.setenv("TRANSFER_LAB_OFFLINE", "1")
        runner, state = run_lab(TINY)
        yield runner, state
        runner.close()


def test_classes_split_into_two_disjoint_halves():
    assert class_halves(10) == ((0, 1, 2, 3, 4), (5, 6, 7, 8, 9))


def test_the_lab_trains_both_bases_and_every_point(finished_lab):
    runner, state = finished_lab
    assert state["status"] == "done", state["message"]
    points, bases = lab_points(runner, state)
    assert set(bases) == {"baseA", "baseB"}
    assert sorted((p["n"], p["kind"]) for p in points) == sorted((n, k) for n in range(1, 5) for k in KINDS)
    base_a = runner.store.load(state["bases"]["baseA"]).config
    assert base_a.class_subset == "0,1,2,3,4" and base_a.strategy == "scratch"


def test_transfer_networks_copy_the_bases_stages_and_freeze_them_as_named(finished_lab):
    runner, state = finished_lab
    base_a = runner.store.load_weights(state["bases"]["baseA"])
    for kind, frozen in (("AnB", True), ("AnB+", False)):
        config = transfer_config(TINY, 10, kind, 2, state["bases"]["baseA"])
        assert config.class_subset == "5,6,7,8,9"
        model = model_for(config, 5, "teacher", runner.store)  # the runner's own store, not the default folder
        for name in ("conv1", "conv2"):  # copied: equal to base A's weights
            torch.testing.assert_close(model.stages[name][0].weight, base_a[f"stages.{name}.0.weight"])
            assert all(p.requires_grad is not frozen for p in model.stages[name].parameters())
        assert not torch.equal(model.stages["conv3"][0].weight, base_a["stages.conv3.0.weight"])  # not copied


def test_frozen_copied_stages_stay_equal_to_the_base_after_training(finished_lab):
    runner, state = finished_lab
    base_a = runner.store.load_weights(state["bases"]["baseA"])
    anb3 = next(p for p in state["points"] if p["kind"] == "AnB" and p["n"] == 3)
    anb3_plus = next(p for p in state["points"] if p["kind"] == "AnB+" and p["n"] == 3)
    trained, fine_tuned = runner.store.load_weights(anb3["run_id"]), runner.store.load_weights(anb3_plus["run_id"])
    for name in ("conv1", "conv2", "conv3"):
        key = f"stages.{name}.0.weight"
        assert torch.equal(trained[key], base_a[key])
        assert not torch.equal(fine_tuned[key], base_a[key])


def test_saved_labs_are_per_owner_unless_every_lab_is_asked_for(finished_lab):
    from transfer_core.lessons.layer_lab import saved_labs

    runner, state = finished_lab
    assert [lab["lab_id"] for lab in saved_labs(runner, "teacher")] == [state["lab_id"]]
    assert saved_labs(runner, "a-student") == []
    assert [lab["lab_id"] for lab in saved_labs(runner, None)] == [state["lab_id"]]


def test_stages_are_copied_only_from_the_owners_runs_in_the_runners_store(finished_lab):
    runner, state = finished_lab
    config = transfer_config(TINY, 10, "AnB", 2, state["bases"]["baseA"])
    with pytest.raises(ConfigError, match="no run .* of yours") as caught:
        model_for(config, 5, "a-student", runner.store)
    assert caught.value.field == "init_from"
    with pytest.raises(ConfigError, match="needs the run store"):
        model_for(config, 5, "teacher", None)


class CountingRunner:
    """Finishes every run at once, and logs each submit and each look at a run, in order."""

    def __init__(self, store: RunStore, slots: int):
        self.store, self.slots, self.calls = store, slots, []

    def submit(self, config, owner, keep=False, background=False) -> str:
        self.calls.append("submit")
        return f"{len(self.calls):012d}"  # run ids are 12 characters

    def snapshot(self, run_id, owner=None):
        self.calls.append("look")
        return SimpleNamespace(run_id=run_id, finished=True, status="done", message="")


@pytest.mark.parametrize("slots", [1, 3])
def test_the_lab_submits_as_many_trainings_together_as_the_runner_trains_at_once(tmp_path, slots):
    """On a cluster (a runner with many slots) a wave of trainings runs in parallel; on one machine the
    queue holds one training of the lab at a time."""
    runner = CountingRunner(RunStore(tmp_path), slots)
    lab = LayerLab(runner, "teacher", TINY)
    wait_for(lambda: lab.state["status"] != "running", 30, "the layer lab finishing")
    assert lab.state["status"] == "done", lab.state["message"]
    waves = [len(group) for group in "".join("s" if c == "submit" else " " for c in runner.calls).split()]
    trainings = 2 + 4 * len(KINDS)  # two bases, then every kind at each of the small CNN's four stages
    assert sum(waves) == trainings
    assert waves == ([1] * trainings if slots == 1 else [2, 3, 3, 3, 3, 3, 1])  # bases first, then the rest


def test_with_several_seeds_the_whole_lab_runs_once_per_seed_each_base_named_by_its_seed(tmp_path):
    runner = CountingRunner(RunStore(tmp_path), 1)
    lab = LayerLab(runner, "teacher", LabSettings(**{**TINY.__dict__, "seed": 4, "seeds": 2}))
    wait_for(lambda: lab.state["status"] != "running", 30, "the layer lab finishing")
    assert lab.state["status"] == "done", lab.state["message"]
    assert runner.calls.count("submit") == 2 * (2 + 4 * len(KINDS))
    assert list(lab.state["bases"]) == ["baseA", "baseB", "baseA · seed 5", "baseB · seed 5"]
    assert sorted({p["seed"] for p in lab.state["points"]}) == [4, 5]
    first_points = [p["seed"] for p in lab.state["points"]][: 4 * len(KINDS)]
    assert set(first_points) == {4}  # the first seed's whole figure lands before the next seed begins


def planted(anb: list[float], bnb: list[float], n: int = 4) -> list[dict]:
    """Finished lab points: AnB and BnB at n stages (and a shallower copy that must not count), one per seed."""
    shallow = [{"n": 1, "kind": "AnB", "seed": s, "val_acc": 0.1} for s in range(len(anb))]
    return shallow + [
        {"n": n, "kind": kind, "seed": seed, "val_acc": acc}
        for kind, values in (("AnB", anb), ("BnB", bnb))
        for seed, acc in enumerate(values)
    ]


@pytest.mark.parametrize(
    "anb, bnb, verdict",
    [
        ([0.60, 0.62, 0.58], [0.80, 0.81, 0.79], "drops"),  # a drop far beyond the seeds' spread
        ([0.798, 0.802, 0.80], [0.80, 0.80, 0.80], "holds"),  # within a point, and the interval says so
        ([0.60, 0.85, 0.70], [0.80, 0.70, 0.82], CLOSE),  # seeds disagree
        ([0.50], [0.90], CLOSE),  # one seed cannot measure the noise, however large the gap
    ],
)
def test_the_lab_decides_with_the_lessons_rule_at_the_deepest_copy(anb, bnb, verdict):
    measured, n, drop, half_width = lab_verdict(planted(anb, bnb))
    assert (measured, n) == (verdict, 4)
    assert drop == pytest.approx(sum(bnb) / len(bnb) - sum(anb) / len(anb))
    assert (half_width == float("inf")) is (len(anb) == 1)
