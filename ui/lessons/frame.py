"""The frame every lesson shares: its text, a "try it" preset, and predict-then-run with a score."""

import time
from collections.abc import Callable

import pandas as pd
import streamlit as st

from transfer_core import settings
from transfer_core.config import TrainConfig
from transfer_core.errors import ConfigError, QueueFull, TransferLabError
from transfer_core.lessons import classroom
from transfer_core.lessons.classroom import PREPARED_OWNER
from transfer_core.lessons.questions import CLOSE, SEEDS, Lesson, decide, run_result, split_label

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


def experiment_ui(lesson: Lesson, predicted: str) -> None:
    runs = st.session_state.setdefault("lesson_runs", {})
    if lesson.key not in runs:
        if st.button(t("learn.run"), key=f"run_{lesson.key}", type="primary"):
            start_experiment(lesson, runs)
        return
    prepared = st.session_state.get(PREPARED, {}).get(lesson.key, {})
    when_finished(runs[lesson.key], lambda current: finish_experiment(lesson, predicted, current), set(prepared))


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


def start_experiment(lesson: Lesson, runs: dict, afresh: bool = False) -> None:
    """Queue the experiment under this tab's seeds; a run the teacher prepared is reused, unless `afresh`."""
    configs = lesson.experiment.seeded_runs(lesson_seeds())
    reused = {} if afresh else classroom.prepared_records(get_runner().store, configs)
    started = start_runs({label: config for label, config in configs.items() if label not in reused})
    if started or (reused and len(reused) == len(configs)):
        runs[lesson.key] = started | {label: record.run_id for label, record in reused.items()}
        st.session_state.setdefault(PREPARED, {})[lesson.key] = {
            label: record.finished for label, record in reused.items()
        }
        st.rerun()


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


def finish_experiment(lesson: Lesson, predicted: str, current: dict) -> None:
    failed = [s for s in current.values() if s.status != "done"]
    if failed:
        st.error(t("learn.failed", error=failed[0].message or failed[0].status))
        return
    results = {label: run_result(s.metrics, s.drift) for label, s in current.items()}
    measured = class_results(lesson, results) | results if in_class() else results
    st.session_state.setdefault(VERDICTS, {})[lesson.key] = (predicted, decide(lesson, measured))
    prepared = st.session_state.get(PREPARED, {}).get(lesson.key, {})
    st.caption(t("learn.results_table", seeds=len({split_label(name)[1] for name in results})))
    st.dataframe(seeds_table(lesson, results, prepared), hide_index=True, placeholder=MISSING)
    if prepared:
        prepared_note(lesson, prepared)
    if in_class():
        seeds = len({split_label(name)[1] for name in measured})
        st.caption(t("learn.class_pooled", seeds=seeds))
        pooled = st.session_state[POOLED]
        st.button(t("learn.class_refresh"), key=f"refresh_{lesson.key}", icon=":material/refresh:",
                  on_click=lambda: pooled.pop(lesson.key, None))  # fmt: skip
    verdict_ui(lesson)


def class_results(lesson: Lesson, results: dict) -> dict:
    """The class's results for the lesson, with this tab's among them. Read from disk once when this
    tab's runs finish, and again only when the learner asks (the page reruns every few seconds)."""
    pooled = st.session_state.setdefault(POOLED, {})
    if lesson.key not in pooled:
        store = get_runner().store
        classroom.record_results(store, lesson.key, owner(), results)
        pooled[lesson.key] = classroom.class_answers(store, lesson.key).results
    return pooled[lesson.key]


def prepared_note(lesson: Lesson, prepared: dict[str, float | None]) -> None:
    """Say that some results were measured before class, and let the learner measure them afresh."""
    st.info(t("learn.prepared_note", count=len(prepared), total=len(st.session_state["lesson_runs"][lesson.key])))
    if st.button(t("learn.run_afresh"), key=f"afresh_{lesson.key}", icon=":material/replay:"):
        runs = st.session_state["lesson_runs"]
        runs.pop(lesson.key, None)
        for store in (VERDICTS, POOLED):
            st.session_state.get(store, {}).pop(lesson.key, None)
        start_experiment(lesson, runs, afresh=True)


def seeds_table(lesson: Lesson, results: dict, prepared: dict[str, float | None]) -> pd.DataFrame:
    """One row per run and seed: the spread each verdict is read against, and when each was measured."""
    rows = []
    order = list(lesson.experiment.runs) if lesson.experiment else []

    def position(name: str) -> tuple[int, int]:  # the experiment's order of runs, then seeds
        label, seed = split_label(name)
        return (order.index(label) if label in order else len(order), seed)

    for name, r in sorted(results.items(), key=lambda item: position(item[0])):
        label, seed = split_label(name)
        when = prepared.get(name)
        rows.append({
            t("learn.col_run"): option_label(lesson, label) if label in lesson.options else word(label),
            t("learn.col_seed"): seed, t("learn.col_val"): r.val_acc, t("learn.col_shift"): r.shift_acc,
            t("learn.col_measured"): t("learn.measured_earlier", when=time.strftime("%H:%M", time.localtime(when)))
            if name in prepared and when else t("learn.measured_now"),
        })  # fmt: skip
    table = pd.DataFrame(rows)
    return table.drop(columns=t("learn.col_shift")) if table[t("learn.col_shift")].isna().all() else table


def verdict_ui(lesson: Lesson) -> None:
    predicted, measured = st.session_state[VERDICTS][lesson.key]
    if measured == CLOSE:  # neither answer: the seeds disagree, and saying otherwise would teach noise
        st.markdown(t("learn.measured_close", seeds=len(SEEDS)))
        st.info(t("learn.close"))
    else:
        st.markdown(t("learn.measured", answer=option_label(lesson, measured)))
        right = predicted == measured
        (st.success if right else st.info)(t("learn.right" if right else "learn.wrong"))
    st.caption(t(f"lessons.{lesson.key}.explain"))
    if st.button(t("learn.again"), key=f"again_{lesson.key}"):
        for store in ("lesson_predictions", "lesson_runs", VERDICTS, PREPARED, POOLED):
            st.session_state.get(store, {}).pop(lesson.key, None)
        st.rerun()


def score() -> tuple[int, int]:
    """(right, answered) over the lessons whose experiment has run in this session."""
    decided = [(p, m) for p, m in st.session_state.get(VERDICTS, {}).values() if m != CLOSE]
    return sum(p == m for p, m in decided), len(decided)  # a close call is no one's point, and no one's miss
