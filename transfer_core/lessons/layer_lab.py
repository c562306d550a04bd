"""The transfer-by-layer lab, after Yosinski et al. (2014), "How transferable are features in deep
neural networks?".

A dataset's classes are split into halves A and B. Base networks are trained from scratch on each
half. Then, for every n, the first n stages of base A (or base B) start a network trained on B:
frozen (AnB, BnB) or fine-tuned (AnB+, BnB+). Every training is an ordinary run in the run store;
the lab itself is a small JSON file beside them listing which run is which point. With several seeds
the whole lab runs once per seed, seed by seed, and the verdict pairs AnB with BnB seed for seed.
"""

import json
import threading
import time
import uuid
from dataclasses import asdict, dataclass, replace

from transfer_core.config import TrainConfig
from transfer_core.data.registry import load_shared
from transfer_core.errors import RunNotFound
from transfer_core.lessons.questions import CLOSE, gain_verdict, paired_interval, seeded_label
from transfer_core.messages import say, say_status
from transfer_core.models.backbones import get_spec
from transfer_core.runners.runner import Runner
from transfer_core.store.runs import process_alive, this_process

KINDS = ("AnB", "AnB+", "BnB", "BnB+")
POLL_SECONDS = 0.5
LIVE_LABS: dict[str, "LayerLab"] = {}  # labs whose thread runs in this process, by id


@dataclass(frozen=True)
class LabSettings:
    dataset: str = "fashion_mnist"
    backbone: str = "small_cnn"
    train_per_class: int = 200
    val_per_class: int = 100
    image_size: int = 32
    epochs: int = 4
    lr: float = 1e-3  # at 3e-3 the small CNN's validation accuracy swung by 0.2 from epoch to epoch
    seed: int = 0
    seeds: int = 1  # the whole lab once per seed, from `seed` on

    def all_seeds(self) -> range:
        return range(self.seed, self.seed + self.seeds)


def class_halves(num_classes: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    half = num_classes // 2
    return tuple(range(half)), tuple(range(half, 2 * half))


def _task(settings: LabSettings, classes: tuple[int, ...]) -> TrainConfig:
    return TrainConfig(
        backbone=settings.backbone, weights="random", dataset=settings.dataset,
        train_per_class=settings.train_per_class, val_per_class=settings.val_per_class,
        image_size=settings.image_size, epochs=settings.epochs, lr=settings.lr, seed=settings.seed,
        class_subset=",".join(map(str, classes)),
    )  # fmt: skip


def base_configs(settings: LabSettings, num_classes: int) -> dict[str, TrainConfig]:
    """baseA and baseB: the same network trained from scratch on each half of the classes."""
    a, b = class_halves(num_classes)
    return {
        "baseA": _task(settings, a).replace(strategy="scratch"),
        "baseB": _task(settings, b).replace(strategy="scratch"),
    }


def transfer_config(settings: LabSettings, num_classes: int, kind: str, n: int, base_id: str) -> TrainConfig:
    """A network for task B whose first n stages start from a base (A for AnB, B for BnB);
    frozen, or fine-tuned with the rest when the kind ends in '+'."""
    _, b = class_halves(num_classes)
    frozen = 0 if kind.endswith("+") else n
    return _task(settings, b).replace(strategy="copy", init_from=base_id, init_stages=n, frozen_stages=frozen)


def trainings(stages: int, seeds: int = 1) -> int:
    """How many trainings a lab runs: the two base networks, then every kind for n = 1..stages, per seed."""
    return (2 + len(KINDS) * stages) * seeds


class LayerLab:
    """Runs the whole lab in the background through the shared runner, one training at a time,
    so each point appears as soon as it is trained. Its state is saved after every step."""

    def __init__(self, runner: Runner, owner: str, settings: LabSettings):
        self.runner, self.owner, self.settings = runner, owner, settings
        self.num_classes = len(load_shared(settings.dataset).classes)
        self.stages = get_spec(settings.backbone).num_stages
        self.state = {
            "lab_id": uuid.uuid4().hex[:12], "owner": owner, "settings": asdict(settings), "status": "running",
            "created": time.time(), "bases": {}, "points": [], "message": "", **this_process(),
        }  # fmt: skip
        self._stop = threading.Event()
        LIVE_LABS[self.lab_id] = self
        self._save()
        threading.Thread(target=self._run, daemon=True, name=f"layer-lab-{self.lab_id}").start()

    @property
    def lab_id(self) -> str:
        return self.state["lab_id"]

    def cancel(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        try:
            for seed in self.settings.all_seeds():  # the first seed's whole figure lands before the next begins
                self._run_seed(seed)
            self.state["status"] = "done"
        except LabStopped as stopped:
            self.state["status"], self.state["message"] = "stopped", str(stopped)
        except Exception as err:  # the lab thread must end with a status, never silently
            self.state["status"], self.state["message"] = "failed", f"{type(err).__name__}: {err}"
        self._save()
        LIVE_LABS.pop(self.lab_id, None)

    def _run_seed(self, seed: int) -> None:
        """Both bases, then every transfer, under one seed. The first seed's bases are "baseA" and "baseB",
        later ones "baseA · seed 1", as the lessons label seeds."""
        settings = replace(self.settings, seed=seed)
        names = {name: name if seed == self.settings.seed else seeded_label(name, seed) for name in ("baseA", "baseB")}
        bases = base_configs(settings, self.num_classes)
        for wave in self._waves(list(bases.items())):
            for name, config in wave:
                self.state["bases"][names[name]] = self._submit(config)
            self._save()
            self._wait([self.state["bases"][names[name]] for name, _ in wave])
        transfers = [(n, kind) for n in range(1, self.stages + 1) for kind in KINDS]
        for wave in self._waves(transfers):
            for n, kind in wave:
                base = self.state["bases"][names["baseA" if kind.startswith("A") else "baseB"]]
                config = transfer_config(settings, self.num_classes, kind, n, base)
                self.state["points"].append({"n": n, "kind": kind, "seed": seed, "run_id": self._submit(config)})
            self._save()
            self._wait([point["run_id"] for point in self.state["points"][-len(wave) :]])

    def _submit(self, config: TrainConfig) -> str:
        """Kept: the lab runs unattended. In the background: its owner's single runs and lessons pass it."""
        return self.runner.submit(config, self.owner, keep=True, background=True)

    def _waves(self, items: list) -> list[list]:
        """The trainings in groups of as many as the runner trains at once: on a cluster a wave trains in
        parallel, and on one machine the queue holds one wave, not the whole lab, ahead of the class."""
        size = max(1, self.runner.slots)
        return [items[i : i + size] for i in range(0, len(items), size)]

    def _wait(self, run_ids: list[str]) -> None:
        """Until every run of the wave has finished; a stop cancels them, a run that fails ends the lab."""
        while True:
            snapshots = [self.runner.snapshot(run_id) for run_id in run_ids]
            if all(snapshot.finished for snapshot in snapshots):
                break
            if self._stop.is_set():
                for run_id in run_ids:
                    self.runner.cancel(run_id)
                raise LabStopped(say("lab.stopped", "stopped by the user"))
            time.sleep(POLL_SECONDS)
        for snapshot in snapshots:
            if snapshot.status != "done":
                sentence = "run {run} {status}: {message}"
                raise LabStopped(
                    say(
                        "lab.run_ended",
                        sentence,
                        run=snapshot.run_id,
                        status=say_status(snapshot.status),
                        message=snapshot.message,
                    )
                )

    def _save(self) -> None:
        folder = self.runner.store.root / "labs"
        folder.mkdir(exist_ok=True)
        tmp = folder / f"{self.lab_id}.json.tmp"
        tmp.write_text(json.dumps(self.state, indent=2))
        tmp.replace(folder / f"{self.lab_id}.json")


class LabStopped(Exception):
    """The lab ended early: stopped, or one of its runs did not finish."""


INTERRUPTED = "the server stopped while this lab was running; start it again to finish it."


def saved_labs(runner: Runner, owner: str | None) -> list[dict]:
    """Labs as saved, newest first: one owner's, or with owner None every lab on this server
    (a teacher's lab run before class, shown when the server allows sharing)."""
    folder = runner.store.root / "labs"
    labs = [saved_lab(runner, p.stem) for p in folder.glob("*.json")] if folder.exists() else []
    labs = [lab for lab in labs if owner is None or lab["owner"] == owner]
    return sorted(labs, key=lambda lab: lab["created"], reverse=True)


def saved_lab(runner: Runner, lab_id: str) -> dict:
    """A lab's saved state; one still marked running whose process has gone is reported interrupted."""
    lab = json.loads((runner.store.root / "labs" / f"{lab_id}.json").read_text())
    orphaned = "host" not in lab or not process_alive(lab)  # labs saved before they named their process, too
    if lab["status"] == "running" and lab_id not in LIVE_LABS and orphaned:
        lab |= {"status": "interrupted", "message": INTERRUPTED}
    return lab


def stop_lab(lab_id: str, owner: str) -> bool:
    """Stop the owner's running lab: its current training is cancelled and nothing more is queued.
    False when it is not running here or is someone else's."""
    lab = LIVE_LABS.get(lab_id)
    if lab is None or lab.owner != owner:
        return False
    lab.cancel()
    return True


def start_again(runner: Runner, lab: dict) -> "LayerLab":
    """A new lab with the same settings as an interrupted or stopped one."""
    return LayerLab(runner, lab["owner"], LabSettings(**lab["settings"]))


def lab_points(runner: Runner, lab: dict) -> tuple[list[dict], dict[str, float]]:
    """Finished points (n, kind, seed, val_acc) and the bases' accuracies by name, read from the runs."""

    def accuracy(run_id: str) -> float | None:
        try:
            snapshot = runner.snapshot(run_id)
        except RunNotFound:  # deleted from the ledger since
            return None
        return snapshot.summary.final_val_acc if snapshot.status == "done" and snapshot.summary else None

    first_seed = lab["settings"].get("seed", 0)  # labs saved before seeds were counted ran one seed
    points = [{"seed": first_seed} | p | {"val_acc": accuracy(p["run_id"])} for p in lab["points"]]
    bases = {name: accuracy(run_id) for name, run_id in lab["bases"].items()}
    return [p for p in points if p["val_acc"] is not None], {k: v for k, v in bases.items() if v is not None}


def deepest_copy(points: list[dict]) -> tuple[int, dict[int, float], dict[int, float]]:
    """The deepest n finished, and AnB's and BnB's accuracy there by seed."""
    deepest = max(p["n"] for p in points)

    def by_seed(kind: str) -> dict[int, float]:
        return {p["seed"]: p["val_acc"] for p in points if p["n"] == deepest and p["kind"] == kind}

    return deepest, by_seed("AnB"), by_seed("BnB")


def lab_verdict(points: list[dict]) -> tuple[str, int, float, float]:
    """Whether frozen AnB falls below BnB at the deepest copy, by the lessons' rule: "drops" when the paired
    95 % interval of BnB - AnB lies above zero, "holds" when it rules out a drop of one point, CLOSE otherwise
    (and with one seed, which cannot measure the noise). Also n, and the mean drop with its half-width."""
    n, anb, bnb = deepest_copy(points)
    drop, half_width, _ = paired_interval(bnb, anb)
    verdict = {"gain": "drops", "no_gain": "holds"}.get(gain_verdict(bnb, anb), CLOSE)
    return verdict, n, drop, half_width
