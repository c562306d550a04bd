"""Reference results: each lesson's experiment as the lab measured it, shipped with the app so that a
learner sees an answer the moment they commit to a prediction, before their own seeds have trained.

`python -m bench.lessons --write` measures them (seeds 0, 1 and 2, on the machine it runs on) and writes
assets/lesson_reference.json with the date, the machine and the command, so the figures on screen are
labelled for what they are and can be measured again.
"""

import datetime
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from transfer_core.config import TrainConfig
from transfer_core.lessons.questions import Lesson, RunResult
from transfer_core.settings import ASSETS

REFERENCE = ASSETS / "lesson_reference.json"
COMMAND = "python -m bench.lessons --write"


@dataclass(frozen=True)
class Reference:
    measured: str  # the date, YYYY-MM-DD
    machine: str  # where: "2 CPU cores", …
    results: dict[str, dict[str, RunResult]]  # {lesson key: {"probe · seed 0": result, …}}
    configs: dict[str, dict[str, TrainConfig]]  # {lesson key: {"probe": the run measured, seed aside}}

    def of(self, lesson: Lesson) -> dict[str, RunResult]:
        """The lesson's reference results, if they measured the lesson's runs as they are now: a lesson
        whose setup changed since shows none rather than another experiment's numbers."""
        if lesson.experiment is None or self.configs.get(lesson.key) != lesson.experiment.runs:
            return {}
        return self.results.get(lesson.key, {})


def load(path: Path = REFERENCE) -> Reference | None:
    """The shipped reference results, or None when the file is missing or unreadable (the lesson then
    runs the learner's seeds only)."""
    try:
        data = json.loads(path.read_text())
        results = {
            key: {name: RunResult(**values) for name, values in runs.items()} for key, runs in data["lessons"].items()
        }
        configs = {
            key: {label: TrainConfig.from_dict(config) for label, config in runs.items()}
            for key, runs in data.get("configs", {}).items()
        }  # fmt: skip
        return Reference(str(data["measured"]), str(data["machine"]), results, configs)
    except (OSError, json.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError):
        return None


def save(reference: Reference, path: Path = REFERENCE) -> None:
    lessons = {key: {name: asdict(r) for name, r in runs.items()} for key, runs in reference.results.items()}
    configs = {key: {label: c.to_dict() for label, c in runs.items()} for key, runs in reference.configs.items()}
    data = {"measured": reference.measured, "machine": reference.machine, "command": COMMAND, "configs": configs,
            "lessons": lessons}  # fmt: skip
    path.write_text(json.dumps(data, indent=1) + "\n")


def save_measured(path: Path, command: str, accuracy: dict, seconds: dict, **more) -> None:
    """A bench's measurement as lessons read it (`load_measured`): when, where, by which command."""
    data = {"measured": datetime.date.today().isoformat(), "machine": f"{os.cpu_count()} CPU cores",
            "command": command, **more, "accuracy": accuracy, "seconds": seconds}  # fmt: skip
    path.write_text(json.dumps(data, indent=1) + "\n")


def load_measured(path: Path) -> dict | None:
    """A bench's JSON ({"measured": date, "accuracy": {name: {seed: accuracy}}, …}) with its seeds as numbers
    again, or None when the file is missing or unreadable."""
    try:
        data = json.loads(path.read_text())
        accuracy = data["accuracy"].items()
        data["accuracy"] = {name: {int(s): float(a) for s, a in seeds.items()} for name, seeds in accuracy}
        return data
    except (OSError, json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None
