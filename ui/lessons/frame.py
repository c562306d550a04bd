"""The frame every lesson shares: its text, a "try it" preset, and predict-then-run with a score."""

from collections.abc import Callable

import pandas as pd
import streamlit as st

from transfer_core import settings
from transfer_core.config import TrainConfig
from transfer_core.errors import ConfigError, QueueFull, TransferLabError
from transfer_core.lessons import classroom
from transfer_core.lessons.classroom import PREPARED_OWNER
from transfer_core.lessons.questions import CLOSE, SEEDS, Lesson

from ..config_state import link_params, respecting_locks, set_config
from ..i18n import MISSING, labels, literal, t, word
from ..polling import poll_runs
from ..run_status import current_run, run_status_line
from ..session import get_runner, owner

VERDICTS = "lesson_verdicts"  # {lesson key: (predicted option, measured option)}
PREPARED = "lesson_prepared"  # {lesson key: {run label: when the prepared run finished}}
POOLED = "lesson_pooled"  # {lesson key: the class's results as last read from disk}


def lesson_text(lesson: Lesson) -> None:
    st.title(t(f"lessons.{lesson.key}.title"))
    st.markdown(t(f"lessons.{lesson.key}.body"))


def try_it_button(config: TrainConfig, label: str, key: str) -> None:
    """Open the lab with this setup; the Transfer page's URL then carries it, so it can be handed out."""
    if st.button(label, key=key, help=t("learn.try_it_help"), icon=":material/science:"):
        try:
            config = respecting_locks(config)  # a teacher's locked settings stay as the link set them
        except ConfigError as err:
            st.error(t("url.kept", error=err))
            return
        set_config(config)
        st.switch_page("app_pages/transfer.py", query_params=link_params(config))


def option_label(lesson: Lesson, option: str) -> str:
    return t(f"lessons.{lesson.key}.options.{option}")


def run_label_name(lesson: Lesson, label: str) -> str:
    """An experiment's run as the learner reads it: the answer it stands for, else its label in their words."""
    return option_label(lesson, label) if label in lesson.options else word(label)


def predict_then_run(lesson: Lesson, run_locally: Callable[[], str] | None = None) -> None:
    """The learner commits to an answer, then the experiment (or the lesson's own worked example,
    `run_locally`) measures which answer was right."""
    st.subheader(t("learn.predict"))
    st.markdown(t(f"lessons.{lesson.key}.question"))
    predictions = st.session_state.setdefault("lesson_predictions", {})
    predicted = predictions.get(lesson.key)
    if predicted is None:
        options = labels(f"lessons.{lesson.key}.options", lesson.options)
        choice = st.radio(
            t("learn.your_prediction"), lesson.options, format_func=options.get, key=f"predict_{lesson.key}", index=None
        )
        if st.button(t("learn.lock_in"), key=f"lock_{lesson.key}", disabled=choice is None, type="primary"):
            predictions[lesson.key] = choice
            if in_class() and lesson.experiment is not None:  # the class board's histogram, anonymous
                classroom.record_prediction(get_runner().store, lesson.key, owner(), choice)
            st.rerun()
        return
    st.markdown(t("learn.locked", answer=option_label(lesson, predicted)))
    if run_locally is not None:
        local_run_ui(lesson, predicted, run_locally)
    else:
        from .experiment import experiment_ui  # it builds on this frame

        experiment_ui(lesson, predicted)


def local_run_ui(lesson: Lesson, predicted: str, run_locally: Callable[[], str]) -> None:
    verdicts = st.session_state.setdefault(VERDICTS, {})
    if lesson.key not in verdicts and st.button(t("learn.run"), key=f"run_{lesson.key}", type="primary"):
        verdicts[lesson.key] = (predicted, run_locally())
    if lesson.key in verdicts:
        verdict_ui(lesson)


def in_class() -> bool:
    """A class on a shared server (the teacher turned sharing on): student i runs seed i, and verdicts
    pool the whole class's seeds."""
    return settings.current().sharing


def lesson_seeds() -> tuple[int, ...]:
    """The seeds this tab's experiment runs: its seat's one in a class, else every seed in SEEDS."""
    return (classroom.seat(get_runner().store, owner()),) if in_class() else SEEDS


def when_finished(run_ids: dict[str, str], show: Callable[[dict], None], prepared: set[str] = frozenset()) -> None:
    """A progress bar while the runs train, then `show(snapshots)` once every one has finished. Labels in
    `prepared` are runs the teacher prepared: read as theirs, never this tab's."""

    def draw(current: dict) -> None:
        done = sum(s.finished for s in current.values())
        if done < len(current):
            st.progress(done / len(current), text=t("learn.running", done=done, total=len(current)))
            if (now := current_run(current.values())) is not None:
                st.caption(run_status_line(now))
        else:
            show(current)

    poll_runs(run_ids, draw, owners=dict.fromkeys(prepared, PREPARED_OWNER))


def start_runs(configs: dict[str, TrainConfig]) -> dict[str, str]:
    """Queue every config as this tab's run: {label: run id}, or {} (with a message) when the queue is full."""
    runner, me = get_runner(), owner()
    try:
        return {label: runner.submit(config, me) for label, config in configs.items()}
    except QueueFull as err:
        st.error(t("learn.queue_full", error=err))
        return {}
    except TransferLabError as err:
        st.error(literal(err))
        return {}


def side_by_side_ui(run_ids: dict[str, str]) -> None:
    """Progress, then each run's validation accuracy and time, for runs outside a prediction."""

    def table(current: dict) -> None:
        rows = [
            {t("learn.col_run"): label, t("learn.col_val"): s.summary.final_val_acc if s.summary else None,
             t("learn.col_seconds"): s.summary.seconds if s.summary else None}
            for label, s in current.items()
        ]  # fmt: skip
        st.dataframe(pd.DataFrame(rows), hide_index=True, placeholder=MISSING)

    when_finished(run_ids, table)


def class_results(lesson: Lesson, results: dict) -> dict:
    """The class's results for the lesson, with this tab's among them. Read from disk once when this
    tab's runs finish, and again only when the learner asks (the page reruns every few seconds)."""
    pooled = st.session_state.setdefault(POOLED, {})
    if lesson.key not in pooled:
        store = get_runner().store
        classroom.record_results(store, lesson.key, owner(), results)
        pooled[lesson.key] = classroom.class_answers(store, lesson.key).results
    return pooled[lesson.key]


def verdict_ui(lesson: Lesson, seeds: int | None = None, provisional: bool = False) -> None:
    """The measured answer against the prediction. `seeds`: how many seeds decided it; `provisional`:
    more of the learner's runs are still training, so the verdict may still change."""
    predicted, measured = st.session_state[VERDICTS][lesson.key]
    if provisional:
        st.markdown(t("learn.provisional", seeds=seeds))
    if measured == CLOSE:  # neither answer: the seeds disagree, and saying otherwise would teach noise
        st.markdown(t("learn.measured_close", seeds=seeds) if seeds else t("learn.measured_close_local"))
        if not provisional:
            st.info(t("learn.close"))
    else:
        st.markdown(t("learn.measured", answer=option_label(lesson, measured)))
        right = predicted == measured
        (st.success if right else st.info)(t("learn.right" if right else "learn.wrong"))
    st.caption(t(f"lessons.{lesson.key}.explain"))
    if not provisional and st.button(t("learn.again"), key=f"again_{lesson.key}", help=t("learn.again_help")):
        for store in ("lesson_predictions", "lesson_runs", VERDICTS, PREPARED, POOLED, "lesson_results"):
            st.session_state.get(store, {}).pop(lesson.key, None)
        st.rerun()


def score() -> tuple[int, int]:
    """(right, answered) over the lessons whose experiment has run in this session."""
    decided = [(p, m) for p, m in st.session_state.get(VERDICTS, {}).values() if m != CLOSE]
    return sum(p == m for p, m in decided), len(decided)  # a close call is no one's point, and no one's miss
