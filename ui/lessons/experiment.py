"""A lesson's experiment once the learner has committed: immediate first, thorough next.

- The reference results the lab measured and ships (`transfer_core.lessons.reference`) answer at once,
  labelled with when, where and by which command.
- The learner's own seeds then train, interleaved (probe·3, scratch·3, probe·4, …), with live curves and
  a total estimate; every finished pair joins the verdict, which says it is provisional until all are in.
- "Add a seed" runs one more seed and updates the verdict; "Predict again" takes seeds not run before.

A lone learner's seeds follow the reference's (3, 4, 5 after 0, 1, 2): new evidence, not a replay. In a
class, student i runs seed i and the verdict pools the class's seeds.
"""

import re
import time
from collections.abc import Callable
from functools import cache

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from transfer_core.errors import RunNotFound, TransferLabError
from transfer_core.lessons import classroom, reference
from transfer_core.lessons.questions import (
    SEEDS,
    Lesson,
    RunResult,
    changed_part,
    decide,
    next_seeds,
    retention,
    run_result,
    split_label,
    with_companions,
)  # fmt: skip
from transfer_core.runners.run_state import RunSnapshot

from ..figures import race_curves
from ..i18n import MISSING, localize_figure, t, t_plain, with_seed
from ..polling import poll_runs
from ..run_status import current_run, run_status_line
from ..session import get_runner, owner
from .frame import (
    POOLED,
    PREPARED,
    VERDICTS,
    class_results,
    in_class,
    lesson_seeds,
    option_label,
    run_label_name,
    start_runs,
    verdict_ui,
)  # fmt: skip

RUNS = "lesson_runs"  # {lesson key: {run label: run id}}: this tab's runs, every round of "add a seed"
USED = "lesson_seeds_used"  # {lesson key: seeds this tab has run}: "Predict again" takes new ones
CHANGES = "lesson_changes"  # {run id: {stage: 1 - CKA}}: computed once per finished run (lesson 2)
OWN_RESULTS = "lesson_results"  # {lesson key: {run label: RunResult}}: this tab's finished runs, for the figures


@cache
def shipped() -> reference.Reference | None:
    return reference.load()


def shipped_results(lesson: Lesson) -> dict[str, RunResult]:
    """The reference results for the lesson's current experiment (none if its runs changed since), with what
    is measured beside its runs (shipped with them; measured here only if the file lacks it)."""
    found = shipped()
    return with_companions(lesson, found.of(lesson)) if found else {}


def experiment_ui(lesson: Lesson, predicted: str) -> None:
    runs = st.session_state.setdefault(RUNS, {})
    if lesson.key not in runs:
        reference_answer(lesson, predicted)
        if st.button(t("learn.run_own"), key=f"run_{lesson.key}", type="primary", icon=":material/play_arrow:"):
            start_experiment(lesson, first_seeds(lesson))
        return
    prepared = set(st.session_state.get(PREPARED, {}).get(lesson.key, {}))
    owners = dict.fromkeys(prepared, classroom.PREPARED_OWNER)
    poll_runs(runs[lesson.key], lambda current: follow(lesson, predicted, current), owners)


def reference_answer(lesson: Lesson, predicted: str) -> None:
    """The shipped results' verdict, shown the moment the learner commits."""
    results = shipped_results(lesson)
    if not results:
        st.caption(t("learn.no_reference"))
        return
    st.session_state.setdefault(VERDICTS, {})[lesson.key] = (predicted, decide(lesson, results))
    reference_caption()
    st.dataframe(seeds_table(lesson, {name: (r, "reference") for name, r in results.items()}), hide_index=True,
                 placeholder=MISSING)  # fmt: skip
    verdict_ui(lesson, seeds=len({split_label(name)[1] for name in results}))


def reference_caption() -> None:
    found = shipped()
    cores = re.search(r"\d+", found.machine)  # "2 CPU cores": said in the learner's words
    st.caption(t("learn.reference_caption", date=found.measured, cores=cores[0] if cores else "?"))


def first_seeds(lesson: Lesson) -> tuple[int, ...]:
    """A class seat's seed; alone, three seeds that neither the reference nor this tab has run."""
    if in_class():
        return lesson_seeds()
    used = st.session_state.setdefault(USED, {}).get(lesson.key, set())
    return next_seeds(reference_seeds(lesson) | used, len(SEEDS))


def reference_seeds(lesson: Lesson) -> set[int]:
    return {split_label(name)[1] for name in shipped_results(lesson)}


def start_experiment(lesson: Lesson, seeds: tuple[int, ...], afresh: bool = False) -> None:
    """Queue the experiment under `seeds`, joining this tab's earlier runs of it; a run the teacher
    prepared is reused, unless `afresh`."""
    configs = lesson.experiment.seeded_runs(seeds)
    reused = {} if afresh else classroom.prepared_records(get_runner().store, configs)
    started = start_runs({label: config for label, config in configs.items() if label not in reused})
    if not started and len(reused) < len(configs):
        return  # start_runs said why
    runs = st.session_state.setdefault(RUNS, {})
    runs[lesson.key] = runs.get(lesson.key, {}) | started | {label: record.run_id for label, record in reused.items()}
    prepared = st.session_state.setdefault(PREPARED, {}).setdefault(lesson.key, {})
    prepared.update({label: record.finished for label, record in reused.items()})
    st.session_state.setdefault(USED, {}).setdefault(lesson.key, set()).update(seeds)
    st.session_state.get(POOLED, {}).pop(lesson.key, None)  # the class's results are read again with these
    st.rerun()


def follow(lesson: Lesson, predicted: str, current: dict[str, RunSnapshot]) -> None:
    """Every redraw while the learner's runs train: what has finished decides, the rest is on its way."""
    failed = [s for s in current.values() if s.status in ("failed", "interrupted")]
    if failed:
        st.error(t("learn.failed", error=failed[0].message or failed[0].status))
    finished = {label: own_result(lesson, s) for label, s in current.items() if s.status == "done"}
    if lesson.experiment.companions:
        with st.spinner(t("learn.companions")):  # lesson 11's TF-IDF on each finished seed's split: seconds, once
            finished = with_companions(lesson, finished)
    st.session_state.setdefault(OWN_RESULTS, {})[lesson.key] = finished
    live = [s for s in current.values() if not s.finished]
    if live:
        progress_ui(lesson, current, live)
    sources = {name: (r, "reference") for name, r in shipped_results(lesson).items()}
    prepared = st.session_state.get(PREPARED, {}).get(lesson.key, {})
    sources |= {name: (r, "prepared" if name in prepared else "yours") for name, r in finished.items()}
    pooled = class_results(lesson, finished) if in_class() and finished and not live else {}
    measured = {name: r for name, (r, _) in sources.items()} | pooled
    seeds = len({split_label(name)[1] for name in measured})
    if measured:
        st.session_state.setdefault(VERDICTS, {})[lesson.key] = (predicted, decide(lesson, measured))
        if shipped_results(lesson):
            reference_caption()
        st.caption(t("learn.results_table", seeds=seeds))
        st.dataframe(seeds_table(lesson, sources, prepared), hide_index=True, placeholder=MISSING)
    if prepared and not live:
        prepared_note(lesson, prepared, len(current))
    if pooled:
        class_note(lesson, pooled)
    if measured:
        verdict_ui(lesson, seeds=seeds, provisional=bool(live))
    if not live:
        add_seed_button(lesson, measured)


def series_words(label: str) -> str:
    return t_plain(f"learn.series_{label}")


def draw_own_seeds(chart: go.Figure, lesson: Lesson, series: set[str],
                   series_name: Callable[[str], str] = series_words) -> None:  # fmt: skip
    """This tab's finished seeds as stars on a measured figure, one trace per run of the experiment that is one of
    its `series`, at that run's images (or definitions) per class; a companion at the run it follows."""
    own = st.session_state.get(OWN_RESULTS, {}).get(lesson.key, {})
    runs = lesson.experiment.runs
    followed = {label: follows for label, (follows, _) in lesson.experiment.companions.items()}
    for label in series & (set(runs) | set(followed)):
        accuracies = [r.val_acc for name, r in own.items() if split_label(name)[0] == label]
        if accuracies:
            name = t_plain("learn.your_seeds", series=series_name(label))
            star = {"symbol": "star", "size": 14, "color": "#222", "line": {"width": 1, "color": "white"}}
            x = [runs[followed.get(label, label)].train_per_class] * len(accuracies)
            chart.add_trace(go.Scatter(x=x, y=accuracies, mode="markers", name=name, marker=star))


def own_result(lesson: Lesson, snapshot: RunSnapshot) -> RunResult:
    change = representation_change(snapshot.run_id) if lesson.experiment.measure == "part" else None
    classes, trained = len(snapshot.classes), snapshot.trainable_parameters or 0
    return run_result(snapshot.metrics, snapshot.drift, classes, trained, change)


def representation_change(run_id: str) -> dict[str, float]:
    """1 - CKA per stage between the run's starting and trained network: computed once per run."""
    from transfer_core.analysis.feature_views import load_run_models
    from transfer_core.analysis.feature_views import representation_change as measure

    changes = st.session_state.setdefault(CHANGES, {})
    if run_id not in changes:
        try:
            changes[run_id] = measure(load_run_models(get_runner().store, run_id))
        except TransferLabError:
            changes[run_id] = {}  # the run's data or weights are gone: it cannot vote on which part changed
    return changes[run_id]


def progress_ui(lesson: Lesson, current: dict[str, RunSnapshot], live: list[RunSnapshot]) -> None:
    """How many runs are in, about how long the rest take, the one training now, and every run's curve."""
    done = len(current) - len(live)
    left = seconds_left(lesson, current)
    text = t("learn.running_estimate", done=done, total=len(current), seconds=left) if left else None
    st.progress(done / len(current), text=text or t("learn.running", done=done, total=len(current)))
    if (now := current_run(current.values())) is not None:
        st.caption(run_status_line(now))
    st.button(t("learn.stop_runs"), key=f"stop_{lesson.key}", icon=":material/stop:", on_click=stop_runs,
              args=(live,), help=t("learn.stop_runs_help"))  # fmt: skip
    rows = [
        {"strategy": run_name(lesson, label), "epoch": m.epoch, "val_acc": m.val_acc, "shift_acc": m.shift_acc}
        for label, s in current.items() for m in s.metrics
    ]  # fmt: skip
    if rows:
        st.plotly_chart(localize_figure(race_curves(pd.DataFrame(rows))), key=f"curves_{lesson.key}", width="stretch")


def stop_runs(live: list[RunSnapshot]) -> None:
    """Cancel this tab's unfinished runs of the experiment (a teacher's prepared runs are not the tab's)."""
    runner, me = get_runner(), owner()
    for snapshot in live:
        if snapshot.owner == me:
            try:
                runner.cancel(snapshot.run_id, owner=me)
            except RunNotFound:  # deleted from the ledger meanwhile
                continue


def seconds_left(lesson: Lesson, current: dict[str, RunSnapshot]) -> int | None:
    """About how long the unfinished runs take: each at its answer's mean time in the reference results
    (or in this tab's finished runs), the feature pass aside."""
    timed: dict[str, list[float]] = {}
    for name, r in shipped_results(lesson).items():
        timed.setdefault(split_label(name)[0], []).append(r.seconds)
    for label, s in current.items():
        if s.status == "done" and s.summary:
            timed.setdefault(split_label(label)[0], []).append(s.summary.seconds)
    left = 0.0
    for label, s in current.items():
        times = timed.get(split_label(label)[0])
        if s.finished:
            continue
        if not times:
            return None
        spent = s.summary.seconds if s.summary else 0.0
        left += max(0.0, sum(times) / len(times) - spent)
    return round(left) or None


def run_name(lesson: Lesson, label: str) -> str:
    name, seed = split_label(label)
    return with_seed(run_label_name(lesson, name), seed)


def class_note(lesson: Lesson, pooled: dict) -> None:
    seeds = len({split_label(name)[1] for name in pooled})
    st.caption(t("learn.class_pooled", seeds=seeds))
    store = st.session_state[POOLED]
    st.button(t("learn.class_refresh"), key=f"refresh_{lesson.key}", icon=":material/refresh:",
              on_click=lambda: store.pop(lesson.key, None))  # fmt: skip


def add_seed_button(lesson: Lesson, measured: dict[str, RunResult]) -> None:
    if st.button(
        t("learn.add_seed"), key=f"add_seed_{lesson.key}", icon=":material/add:", help=t("learn.add_seed_help")
    ):
        used = {split_label(name)[1] for name in measured} | st.session_state.get(USED, {}).get(lesson.key, set())
        start_experiment(lesson, next_seeds(used, 1))


def prepared_note(lesson: Lesson, prepared: dict[str, float | None], total: int) -> None:
    """Say that some results were measured before class, and let the learner measure them afresh."""
    st.info(t("learn.prepared_note", count=len(prepared), total=total))
    if st.button(t("learn.run_afresh"), key=f"afresh_{lesson.key}", icon=":material/replay:"):
        seeds = tuple(sorted({split_label(label)[1] for label in st.session_state[RUNS][lesson.key]}))
        st.session_state[RUNS].pop(lesson.key, None)
        for store in (VERDICTS, POOLED, PREPARED):
            st.session_state.get(store, {}).pop(lesson.key, None)
        start_experiment(lesson, seeds, afresh=True)


def seeds_table(
    lesson: Lesson, results: dict[str, tuple[RunResult, str]], prepared: dict[str, float | None] | None = None
) -> pd.DataFrame:
    """One row per run and seed: the spread each verdict is read against, what each run cost (seconds of
    training, parameters trained) and where each result comes from."""
    order = list(lesson.experiment.runs)

    def position(name: str) -> tuple[int, int]:  # seeds in order, the experiment's runs within each
        label, seed = split_label(name)
        return (seed, order.index(label) if label in order else len(order))

    rows = []
    for name, (r, source) in sorted(results.items(), key=lambda item: position(item[0])):
        label, seed = split_label(name)
        rows.append({
            t("learn.col_run"): run_label_name(lesson, label),
            t("learn.col_seed"): seed, t("learn.col_val"): r.val_acc, t("learn.col_shift"): r.shift_acc,
            t("learn.col_kept"): retention(r) if r.shift_acc is not None else None,
            t("learn.col_part"): option_label(lesson, changed_part(r.change)) if r.change else None,
            t("learn.col_seconds"): round(r.seconds, 1) if r.seconds else None,
            t("learn.col_trained"): r.trainable or None,
            t("learn.col_measured"): measured_where(source, (prepared or {}).get(name)),
        })  # fmt: skip
    table = pd.DataFrame(rows)
    empty = [column for column in table.columns if table[column].isna().all()]
    return table.drop(columns=empty)


def measured_where(source: str, when: float | None) -> str:
    if source == "reference":
        return t_plain("learn.measured_reference", date=shipped().measured if shipped() else "")
    if source == "prepared" and when:
        return t_plain("learn.measured_earlier", when=time.strftime("%H:%M", time.localtime(when)))
    return t_plain("learn.measured_now")
