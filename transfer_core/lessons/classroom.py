"""A lesson taught to a whole class: prepared results, seats and seeds, and the class's answers.

- A teacher prepares a lesson before class: its experiment runs once per seed the class will use, as
  the owner PREPARED (no tab's owner id can be that word). A student's run of the same config and seed
  then reuses the stored result, labelled as measured earlier, instead of queueing for it again.
- In a class (sharing on), student i runs seed i: seats are handed out in order of arrival, so thirty
  students measure thirty seeds, which no one of them could in class time.
- Each student's prediction and results for a lesson are kept (one small file per student and lesson)
  for the class board: an anonymous histogram of predictions, then the measured distribution.
"""

import json
import re
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from transfer_core.config import TrainConfig
from transfer_core.errors import QueueFull
from transfer_core.lessons.questions import Lesson, RunResult
from transfer_core.store.runs import RunRecord, RunStore, write_atomic

PREPARED_OWNER = "prepared"
CLASS_SEEDS = 30  # the seeds a prepared lesson covers: one per student in a class of thirty
_SEATS_LOCK = threading.Lock()
_LESSON_KEY = re.compile(r"^[a-z_]+$")


# --- prepared results ------------------------------------------------------------------------------


def prepared_records(store: RunStore, configs: dict[str, TrainConfig]) -> dict[str, RunRecord]:
    """{label: the newest finished prepared run of exactly that config}, for the labels that have one."""
    return _newest_done(store.list(PREPARED_OWNER), configs)


def _newest_done(records: list[RunRecord], configs: dict[str, TrainConfig]) -> dict[str, RunRecord]:
    done = [record for record in records if record.status == "done"]  # newest first
    found = {}
    for label, config in configs.items():
        match = next((record for record in done if record.config == config), None)
        if match is not None:
            found[label] = match
    return found


def prepare(runner, lesson: Lesson, seeds: range | tuple[int, ...]) -> tuple[dict[str, str], int]:
    """Queue the lesson's experiment under every seed, skipping what is prepared or queued already.
    Returns ({label: run id} queued now, how many are still left to queue: the queue was full). Prepared
    runs train whether or not any tab is open (`keep`)."""
    configs = lesson.experiment.seeded_runs(seeds)
    records = runner.store.list(PREPARED_OWNER)  # read once: a class's prepared runs are many files
    have = _newest_done(records, configs)
    live = {record.config for record in records if record.status in ("queued", "running")}
    wanted = {label: config for label, config in configs.items() if label not in have and config not in live}
    queued = {}
    for label, config in wanted.items():
        try:
            queued[label] = runner.submit(config, PREPARED_OWNER, keep=True)
        except QueueFull:  # students' runs come first: the rest can be queued once these have started
            break
    return queued, len(wanted) - len(queued)


def prepared_count(store: RunStore, lesson: Lesson, seeds: range | tuple[int, ...]) -> tuple[int, int]:
    """(runs of the lesson's experiment prepared and finished, runs it has) over these seeds."""
    configs = lesson.experiment.seeded_runs(seeds)
    return len(prepared_records(store, configs)), len(configs)


# --- seats: student i runs seed i -----------------------------------------------------------------


def class_dir(store: RunStore) -> Path:
    return store.root / "class"


def seat(store: RunStore, owner: str) -> int:
    """This student's seat, given once in order of arrival: 0, 1, 2, ... (their seed in every lesson)."""
    path = class_dir(store) / "seats.json"
    with _SEATS_LOCK:
        seats = _read_json(path)
        if owner not in seats:
            seats[owner] = len(seats)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps(seats))
        return seats[owner]


# --- the class's answers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassAnswers:
    """What a class did with one lesson's question."""

    predictions: dict[str, int]  # {option: how many students chose it}
    results: dict[str, RunResult]  # {"label · seed n": result}, each seed once
    students: int  # how many students' results are in `results`


def answer_path(store: RunStore, lesson_key: str, owner: str) -> Path:
    if not _LESSON_KEY.match(lesson_key) or not re.fullmatch(r"[0-9a-f]{32}", owner):
        raise ValueError("a lesson key and an owner id name the file")
    return class_dir(store) / lesson_key / f"{owner}.json"


def record_prediction(store: RunStore, lesson_key: str, owner: str, option: str) -> None:
    _update(answer_path(store, lesson_key, owner), prediction=option)


def record_results(store: RunStore, lesson_key: str, owner: str, results: dict[str, RunResult]) -> None:
    _update(answer_path(store, lesson_key, owner), results={name: asdict(r) for name, r in results.items()})


def class_answers(store: RunStore, lesson_key: str) -> ClassAnswers:
    """Every student's prediction and results for a lesson; a seed measured by two students counts once."""
    predictions: dict[str, int] = {}
    results: dict[str, RunResult] = {}
    students = 0
    folder = class_dir(store) / lesson_key
    for path in sorted(folder.glob("*.json"), key=_modified) if _LESSON_KEY.match(lesson_key) else []:
        answer = _read_json(path)
        if isinstance(answer.get("prediction"), str):
            predictions[answer["prediction"]] = predictions.get(answer["prediction"], 0) + 1
        measured = answer.get("results") or {}
        students += bool(measured)
        for name, values in measured.items():
            try:
                results[name] = RunResult(**values)
            except TypeError:
                continue  # a file from another version: leave it out rather than fail the board
    return ClassAnswers(predictions, results, students)


def _update(path: Path, **changes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(_read_json(path) | changes | {"updated": time.time()}))


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _modified(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0
