"""A lesson taught to a class: student i runs seed i, a teacher's prepared results are reused and
labelled, and the class board gathers everyone's predictions and results for a question."""

import base64
import json

import numpy as np
import pytest

from tests.apptest import open_app, open_lesson
from tests.waiting import wait_until_all_finished
from transfer_core import settings
from transfer_core.lessons import classroom
from transfer_core.lessons.classroom import PREPARED_OWNER
from transfer_core.lessons.questions import CLOSE, SEED_MARK, RunResult, decide, get_lesson
from transfer_core.runners.runner import Runner
from transfer_core.store.features import FeatureStore
from transfer_core.store.runs import RunStore

pytestmark = pytest.mark.usefixtures("fresh_runner")  # each test opens the app with a runner of its own


OWNERS = [f"{i:032x}" for i in range(1, 6)]


@pytest.fixture
def class_server(monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_SHARING", "1")


def lock_in_and_run(at, key: str, option: str):
    at.radio(key=f"predict_{key}").set_value(option).run()
    next(b for b in at.button if b.key == f"lock_{key}").click().run()
    next(b for b in at.button if b.key == f"run_{key}").click().run()
    return at


# --- verdicts over many seeds ---------------------------------------------------------------------


def teacher_runner() -> Runner:
    """The teacher's own runner on the server's stores, preparing a lesson ahead of class."""
    return Runner(RunStore(settings.current().runs_dir), features=FeatureStore(settings.current().features_dir, 2**30),
                  max_queue=100)  # fmt: skip


def test_with_a_class_of_seeds_one_odd_seed_does_not_hide_a_clear_difference_but_noise_stays_close():
    lesson = get_lesson("why")
    probe = [0.80 + 0.01 * (i % 5) for i in range(30)]
    scratch = [p - 0.05 for p in probe]
    scratch[7] = probe[7] + 0.01  # one seed where scratch won
    results = {f"probe{SEED_MARK}{i}": RunResult(p, None, {}) for i, p in enumerate(probe)}
    results |= {f"scratch{SEED_MARK}{i}": RunResult(s, None, {}) for i, s in enumerate(scratch)}
    assert decide(lesson, results) == "probe"
    noisy = {
        f"scratch{SEED_MARK}{i}": RunResult(p + (0.02 if i % 2 else -0.021), None, {}) for i, p in enumerate(probe)
    }
    assert decide(lesson, results | noisy) == CLOSE
    one_seed = {f"probe{SEED_MARK}0": RunResult(0.9, None, {}), f"scratch{SEED_MARK}0": RunResult(0.1, None, {})}
    assert decide(lesson, one_seed) == CLOSE, "one seed cannot measure its own noise"


# --- seats ------------------------------------------------------------------------------------------


def test_students_get_seats_in_order_of_arrival_and_keep_them(tmp_path):
    store = RunStore(tmp_path / "runs")
    assert [classroom.seat(store, owner) for owner in OWNERS[:3]] == [0, 1, 2]
    assert classroom.seat(store, OWNERS[1]) == 1
    assert classroom.seat(RunStore(tmp_path / "runs"), OWNERS[3]) == 3  # kept on disk, across restarts


def test_in_a_class_student_i_runs_seed_i(class_server, small_lessons):
    first, second = open_app(), open_app()
    for at in (first, second):
        open_lesson(at, "uses").run()
        lock_in_and_run(at, "uses", "probe")
    assert set(first.session_state["lesson_runs"]["uses"]) == {f"probe{SEED_MARK}0", f"scratch{SEED_MARK}0"}
    assert set(second.session_state["lesson_runs"]["uses"]) == {f"probe{SEED_MARK}1", f"scratch{SEED_MARK}1"}


# --- prepared lessons -----------------------------------------------------------------------------


@pytest.mark.slow
def test_a_prepared_lesson_is_reused_labelled_as_measured_earlier_and_can_be_run_afresh(
    closing, class_server, small_lessons
):
    from ui.session import get_runner

    lesson = get_lesson("uses")
    teacher = closing(teacher_runner())
    queued, left = classroom.prepare(teacher, lesson, range(1))
    assert len(queued) == 2 and left == 0
    wait_until_all_finished(teacher, queued.values())
    assert classroom.prepare(teacher, lesson, range(1)) == ({}, 0), "what is prepared is not run again"

    at = open_app()
    open_lesson(at, "uses").run()
    lock_in_and_run(at, "uses", "probe")
    runs = at.session_state["lesson_runs"]["uses"]
    assert set(runs.values()) == set(queued.values()), "the student's runs are the prepared ones: nothing queued"
    assert all(get_runner().snapshot(run_id).owner == PREPARED_OWNER for run_id in runs.values())
    assert get_runner().list(at.session_state["owner"]) == []
    table = at.dataframe[-1].value
    assert all(when.startswith("earlier, at ") and when.endswith("(prepared)") for when in table["measured"])
    assert any("2 of these 2 results were measured earlier" in i.value for i in at.info)

    next(b for b in at.button if b.key == "afresh_uses").click().run()
    fresh = at.session_state["lesson_runs"]["uses"]
    assert set(fresh.values()).isdisjoint(queued.values())
    wait_until_all_finished(get_runner(), fresh.values(), owner=at.session_state["owner"])
    at.run()
    assert set(at.dataframe[-1].value["measured"]) == {"now, by you"}


@pytest.mark.slow
def test_a_students_verdict_pools_the_class_read_once_and_again_when_asked(
    closing, class_server, monkeypatch, small_lessons
):
    from ui.session import get_runner

    lesson = get_lesson("uses")
    teacher = closing(teacher_runner())
    queued, _ = classroom.prepare(teacher, lesson, range(1))
    wait_until_all_finished(teacher, queued.values())
    reads = []
    answers = classroom.class_answers
    monkeypatch.setattr(classroom, "class_answers", lambda *args: reads.append(args) or answers(*args))

    at = open_app()
    open_lesson(at, "uses").run()
    lock_in_and_run(at, "uses", "probe")

    def pooled_seeds() -> int:
        line = next(c.value for c in at.caption if "Your class has measured" in c.value)
        return int(line.split("measured ")[1].split(" ")[0])

    assert pooled_seeds() == 1 and len(reads) == 1
    store = get_runner().store
    for seed, classmate in enumerate(OWNERS[:3], start=1):  # classmates finish their seeds meanwhile
        results = {f"{label}{SEED_MARK}{seed}": RunResult(0.8, None, {}) for label in lesson.experiment.runs}
        classroom.record_results(store, "uses", classmate, results)
    at.run().run()
    assert pooled_seeds() == 1 and len(reads) == 1, "a rerun reads nothing from disk"
    next(b for b in at.button if b.key == "refresh_uses").click().run()
    assert pooled_seeds() == 4 and len(reads) == 2
    mine = classroom.class_answers(store, "uses").results
    assert {name for name in mine if name.endswith(f"{SEED_MARK}0")} == set(at.session_state["lesson_runs"]["uses"])


def test_preparing_is_offered_to_the_teachers_link_only_on_a_class_server(class_server, monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_TEACHER_KEY", "s3cret-for-class")
    student = open_app()
    open_lesson(student, "why").run()
    assert not [e for e in student.expander if "prepare this lesson" in e.label]
    teacher = open_app_with_teacher_key("s3cret-for-class")
    open_lesson(teacher, "why").run()
    assert [e for e in teacher.expander if "prepare this lesson" in e.label]
    assert "teacher" not in teacher.query_params, "the key is not written back into the link"


def open_app_with_teacher_key(key: str):
    from streamlit.testing.v1 import AppTest

    from tests.apptest import APP

    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["teacher"] = key
    return at.run()


# --- the class board --------------------------------------------------------------------------------


def plant_class(store: RunStore) -> None:
    """Five students answered lesson 1: four predicted the probe, one scratch; four measured a seed each."""
    for i, owner in enumerate(OWNERS):
        classroom.record_prediction(store, "why", owner, "probe" if i else "scratch")
        if i < 4:
            results = {f"probe{SEED_MARK}{i}": RunResult(0.80 + 0.01 * i, None, {}),
                       f"scratch{SEED_MARK}{i}": RunResult(0.50 + 0.02 * i, None, {})}  # fmt: skip
            classroom.record_results(store, "why", owner, results)


def test_the_class_answers_gather_every_students_prediction_and_seed(tmp_path):
    store = RunStore(tmp_path / "runs")
    plant_class(store)
    answers = classroom.class_answers(store, "why")
    assert answers.predictions == {"probe": 4, "scratch": 1}
    assert answers.students == 4 and len(answers.results) == 8
    assert decide(get_lesson("why"), answers.results) == "probe"
    assert classroom.class_answers(store, "../runs").results == {}, "a lesson key never names a path"
    with pytest.raises(ValueError):
        classroom.record_prediction(store, "why", "../../etc", "probe")


def test_the_class_board_shows_the_predictions_then_the_measured_distribution(class_server):
    plant_class(RunStore(settings.current().runs_dir))
    at = open_app("app_pages/board.py")
    assert not at.exception
    text = "\n".join(m.value for m in at.markdown)
    assert "**What the class predicted** (5 students, anonymous)" in text
    assert "4 seeds, from 4 students' runs" in text
    assert "Over every seed the class ran: **The linear probe on ImageNet features**." in text
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    bars = next(c for c in charts if c["data"][0]["type"] == "bar")
    assert sorted(numbers(bars["data"][0]["x"])) == [1, 4]
    strip = next(c for c in charts if c["data"][0]["type"] == "box")
    assert sum(len(numbers(trace["x"])) for trace in strip["data"]) == 8, "every seed's point"


def numbers(values) -> list:
    """A Plotly figure's array: a list, or base64-packed ({"bdata", "dtype"}) as Plotly 6 sends numbers."""
    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"]).tolist()
    return list(values)
