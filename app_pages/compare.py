"""Compare: one target task, every strategy, raced side by side, in and out of distribution."""

import re

import pandas as pd
import streamlit as st

from transfer_core.config import TrainConfig
from transfer_core.data.preparation import SHIFT_DESCRIPTIONS
from transfer_core.errors import QueueFull, RunNotFound, TransferLabError
from transfer_core.lessons.questions import CLOSE, SEED_MARK, split_label
from transfer_core.lessons.race import (
    SCRATCH_EPOCHS_SCALE,
    SCRATCH_LR,
    race_configs,
    race_winner,
    seeded_race,
    source_weights,
    trained_parameters,
)
from transfer_core.metrics import metrics_rows
from transfer_core.models.backbones import get_spec
from transfer_core.models.run_time import expected_seconds, said_minutes
from transfer_core.resolve import class_count, dataset_reads
from transfer_core.runners.run_state import RunSnapshot
from ui.config_state import current_config
from ui.describe import describe_task
from ui.figures import race_curves
from ui.i18n import MISSING, literal, localize_figure, localize_frame, setup_words, t, t_plain, with_seed, word
from ui.polling import poll_runs
from ui.run_status import at_chance, current_run, run_status_line
from ui.sentences import tfidf_line
from ui.session import get_runner, owner, tab_snapshots
from ui.widgets import bind, kept_answer

PARTIAL = re.compile(r"partial fine-tune \((\d+) frozen\)")  # race.race_configs' label for a partial fine-tune


def strategy_name(label: str) -> str:
    """A race's strategy label (with its seed, after the first seed) in the session's language."""
    strategy, seed = split_label(label)
    partial = PARTIAL.fullmatch(strategy)
    name = t_plain("compare.partial_label", frozen=partial[1]) if partial else word(strategy)
    return with_seed(name, seed) if SEED_MARK in label else name


MOST_SEEDS = 5  # a race is several runs per seed: five seeds of six strategies is already thirty


def setup_ui(racing_setup: TrainConfig | None) -> tuple[dict, dict]:
    """The race to start ({label: config}, every seed) and its strategies ({label: config}, the first seed)."""
    config = current_config()
    spec = get_spec(config.backbone)
    if racing_setup is not None and racing_setup != config:  # the race on screen ran another setup
        st.markdown(t("compare.task_on_screen", task=describe_task(racing_setup, setup_words)))
        st.caption(t("compare.task_next", task=describe_task(config, setup_words)))
    else:
        st.markdown(t("compare.task", task=describe_task(config, setup_words)))  # every strategy runs it
    if source_weights(config) is None:
        st.info(t("compare.scratch_only", backbone=spec.title))
        partial = None
    else:
        partial = st.slider(t("compare.partial"), 1, spec.num_stages - 1, spec.num_stages // 2)
    if holds_images(config):  # the shifted copies are image changes: none for words or sound
        shifts = {shift: word(description) for shift, description in SHIFT_DESCRIPTIONS.items()}
        bind(st.radio, t("compare.shift"), "val_shift", list(shifts), format_func=shifts.get)
    seeds = st.number_input(t("compare.seeds"), 1, MOST_SEEDS, 1, key="race_seeds", help=t("compare.seeds_help"))
    st.caption(t("compare.scratch_fair", lr=SCRATCH_LR, scale=SCRATCH_EPOCHS_SCALE))
    base = current_config()
    strategies = race_configs(base, partial)
    return seeded_race(strategies, range(base.seed, base.seed + int(seeds))), strategies


def holds_images(config) -> bool:
    try:
        return dataset_reads(config.dataset, owner()) == "images"
    except TransferLabError:
        return True  # the race says why the dataset cannot be read


def start_ui(race: dict, racing: bool) -> None:
    """Start the race (one at a time per tab), or Stop the one running: its queued and training runs."""
    if racing:
        st.button(t("compare.stop"), icon=":material/stop:", on_click=stop_race, key="stop_race")
    cost_ui(race)
    if st.button(t("compare.start", runs=len(race)), type="primary", disabled=racing):
        runner, me = get_runner(), owner()
        started = {}
        try:
            for label, config in race.items():
                started[label] = runner.submit(config, me, background=True)  # your single runs pass it
        except QueueFull as err:
            st.error(t("compare.queue_full", error=err, queued=len(started)))
        except TransferLabError as err:  # a race over the memory budget, say: nothing was queued
            st.error(literal(err))
            return
        race_ids = st.session_state.setdefault("race", {})  # the tab's kept copy: changed in place
        race_ids.clear()
        race_ids.update(started)
        st.session_state.setdefault(RACE_SETUP, {})["config"] = current_config().to_json()
        st.rerun()


def cost_ui(race: dict) -> None:
    """About how long the race takes on a CPU like the lab's, before it starts: a learner's next runs wait
    behind it."""
    try:
        classes = class_count(current_config(), owner())
    except TransferLabError:
        return  # the race says why the setup cannot run
    estimates = [expected_seconds(config, classes) for config in race.values()]
    if None not in estimates:
        st.caption(t("compare.cost", minutes=said_minutes(sum(estimates)), runs=len(race)))


def stop_race() -> None:
    runner, me = get_runner(), owner()
    for run_id in st.session_state.get("race", {}).values():
        try:
            runner.cancel(run_id, owner=me)
        except RunNotFound:  # deleted from the ledger meanwhile
            continue


def race_rows(snapshots: dict[str, RunSnapshot]) -> tuple[pd.DataFrame, pd.DataFrame]:
    curves, summary = [], []
    shifted = any(s.config.val_shift != "none" for s in snapshots.values())  # else the column would be all None
    for label, snapshot in snapshots.items():
        curves += [{"strategy": strategy_name(label), **row} for row in metrics_rows(snapshot.metrics)]
        result = snapshot.summary
        queued = t_plain("compare.queued_at", place=snapshot.queue_position)
        summary.append(
            {
                "strategy": strategy_name(label),
                "status": word(snapshot.status) if snapshot.status != "queued" else queued,
                "val acc": result.final_val_acc if result else None,
                **({"shifted acc": result.final_shift_acc if result else None} if shifted else {}),
                "seconds": result.seconds if result else None,
                "trainable parameters": trained_parameters(snapshot.config, len(snapshot.classes) or 10),
            }
        )
    return pd.DataFrame(curves), pd.DataFrame(summary)


def results_ui(snapshots: dict[str, RunSnapshot]) -> None:
    curves, summary = race_rows(snapshots)
    finished = sum(s.finished for s in snapshots.values())
    st.markdown(t("compare.finished", done=finished, total=len(snapshots)))
    if (current := current_run(snapshots.values())) is not None:
        label = next(label for label, s in snapshots.items() if s is current)
        st.caption(f"{literal(strategy_name(label))} · {run_status_line(current)}")
    if not curves.empty:
        st.plotly_chart(localize_figure(race_curves(curves)), width="stretch", key="race_curves")
    formats = {"val acc": "%.3f", "shifted acc": "%.3f", "seconds": "%.1f"}
    columns = {word(name): st.column_config.NumberColumn(format=f) for name, f in formats.items()}
    st.dataframe(localize_frame(summary), hide_index=True, width="stretch", column_config=columns, placeholder=MISSING)
    guessing = [label for label, s in snapshots.items() if at_chance(s)]
    if guessing:
        st.info(t("compare.at_chance", runs=", ".join(strategy_name(label) for label in guessing)))
    verdict_ui(snapshots)


def prediction_ui(strategies: dict, racing: bool) -> None:
    """Predict first: the strategy the learner expects to end highest, kept with the tab (and its reload)."""
    kept = st.session_state.setdefault("race_prediction", {})
    names = {label: strategy_name(label) for label in strategies}  # looked up now: format_func runs outside
    kept_answer(t("compare.predict"), list(strategies), kept, "race_pick", horizontal=True, disabled=racing,
                format_func=names.get)  # fmt: skip


def verdict_ui(snapshots: dict[str, RunSnapshot]) -> None:
    """Once every run has finished: the prediction against the strategy that ended highest."""
    predicted = st.session_state.get("race_prediction", {}).get("answer")
    done = {label: s.summary.final_val_acc for label, s in snapshots.items() if s.status == "done" and s.summary}
    if predicted is None or not done or any(not s.finished for s in snapshots.values()):
        return
    winner = race_winner(done)
    seeds = len({split_label(label)[1] for label in done})
    if winner == CLOSE:  # one seed cannot measure its noise; several may still overlap
        leader = max(done, key=done.get)
        st.markdown(t("compare.verdict_close", predicted=strategy_name(predicted), seeds=seeds,
                      leader=strategy_name(split_label(leader)[0]), acc=done[leader]))  # fmt: skip
    else:
        key = "compare.verdict_right" if predicted == winner else "compare.verdict_wrong"
        st.markdown(t(key, predicted=strategy_name(predicted), winner=strategy_name(winner), seeds=seeds))
    tfidf_line([snapshots[label].config for label in done], owner())  # a text race: the baseline beside either


RACE_SETUP = "race_setup"  # {"config": the JSON of the setup the race on screen ran}, kept with the tab

st.title(t("compare.title"))
st.write(t("compare.intro"))
race_ids = st.session_state.get("race", {})
kept_setup = st.session_state.get(RACE_SETUP, {}).get("config") if race_ids else None
race, strategies = setup_ui(TrainConfig.from_json(kept_setup) if kept_setup else None)
racing = any(not s.finished for s in tab_snapshots(race_ids).values())
prediction_ui(strategies, racing)
start_ui(race, racing)
if race_ids:
    poll_runs(race_ids, results_ui)
st.caption(t("compare.research"))
