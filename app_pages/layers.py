"""Layers: how transferable is each stage? The transfer-by-layer experiment of Yosinski et al. (2014)."""

import pandas as pd
import streamlit as st

from transfer_core import settings
from transfer_core.data.registry import DATASETS, load_shared
from transfer_core.errors import RunNotFound
from transfer_core.lessons.layer_lab import (
    LabSettings,
    LayerLab,
    base_configs,
    class_halves,
    lab_points,
    lab_verdict,
    saved_lab,
    saved_labs,
    start_again,
    stop_lab,
    trainings,
)
from transfer_core.lessons.questions import CLOSE, SEED_MARK, split_label
from transfer_core.metrics import near_chance
from transfer_core.models.backbones import get_spec
from transfer_core.models.run_time import expected_seconds, said_minutes
from transfer_core.runners.run_state import RunSnapshot
from ui.figures import layer_lab_figure
from ui.i18n import class_names, localize_figure, t, with_seed
from ui.polling import poll_until_finished
from ui.run_status import run_status_line
from ui.session import get_runner, owner
from ui.widgets import kept_answer

LAB_ANSWERS = ("drops", "holds")
MOST_SEEDS = 5
DEFAULT_SEEDS = 3  # the fewest that can decide: one seed cannot measure the noise, two rarely beat it


def settings_ui() -> LabSettings:
    left, middle, right, far = st.columns(4)
    per_class_label = t("data.train_per_class", unit=t("data.unit.images"))
    per_class = left.number_input(per_class_label, 20, 2000, LabSettings.train_per_class, step=20)
    epochs = middle.number_input(t("layers.epochs"), 1, 20, LabSettings.epochs)
    seed = right.number_input(t("layers.first_seed"), 0, 2**31 - 1, 0)
    seeds = far.number_input(t("layers.seeds"), 1, MOST_SEEDS, DEFAULT_SEEDS, help=t("layers.seeds_help"))
    return LabSettings(train_per_class=int(per_class), epochs=int(epochs), seed=int(seed), seeds=int(seeds))


def explain_ui(settings: LabSettings) -> None:
    classes = load_shared(settings.dataset).classes
    a, b = class_halves(len(classes))
    stages = get_spec(settings.backbone).num_stages
    st.markdown(
        t(
            "layers.plan",
            a=", ".join(class_names(classes)[i] for i in a),
            b=", ".join(class_names(classes)[i] for i in b),
            stages=stages,
            trainings=trainings(stages),
            seeds=settings.seeds,
            total=trainings(stages, settings.seeds),
        )  # fmt: skip
    )
    base = base_configs(settings, len(classes))["baseA"]
    total = trainings(stages, settings.seeds)
    if (each := expected_seconds(base, len(classes) // 2)) is not None:  # every training is at most a base's
        st.caption(t("layers.cost", minutes=said_minutes(each * total), trainings=total))


def lab_state_ui(current: dict) -> None:
    points, bases = lab_points(get_runner(), current)
    settings = LabSettings(**current["settings"])
    stages = get_spec(settings.backbone).num_stages
    total = trainings(stages, settings.seeds)
    st.progress(
        min(1.0, (len(points) + len(bases)) / total),
        text=t("layers.progress", done=len(points) + len(bases), total=total, status=current["status"]),
    )
    if live := lab_live(current):
        st.caption(run_status_line(live))
    if current["status"] == "running" and current["owner"] == owner():
        st.button(t("layers.stop"), key="stop_lab", icon=":material/stop:", on_click=stop_lab,
                  args=(current["lab_id"], owner()))  # fmt: skip
    if current["status"] == "interrupted":
        st.warning(t("layers.interrupted"))
        if current["owner"] == owner() and st.button(t("layers.start_again"), key="start_again"):
            start_again(get_runner(), current)
            st.rerun()
    elif current["message"]:
        st.warning(current["message"])
    frame = pd.DataFrame(points, columns=["n", "kind", "seed", "run_id", "val_acc"])
    base_b = [acc for name, acc in bases.items() if name.startswith("baseB")]
    st.plotly_chart(
        localize_figure(layer_lab_figure(frame, sum(base_b) / len(base_b) if base_b else None, stages)),
        width="stretch",
        key="lab_plot",
    )
    if bases:
        st.caption(", ".join(f"{base_label(name)}: {acc:.3f}" for name, acc in bases.items()))
        half = DATASETS[settings.dataset].num_classes // 2  # each base tells half of the classes apart
        guessing = [name for name, acc in bases.items() if near_chance(acc, half, settings.val_per_class * half)]
        if guessing:
            st.info(t("layers.at_chance", bases=", ".join(guessing), chance=1 / half))
    lab_verdict_ui(current, points)


def base_label(name: str) -> str:
    """ "baseA" for the first seed's base, "baseA · seed 1" (in the page's language) for a later seed's."""
    return with_seed(*split_label(name)) if SEED_MARK in name else name


def lab_prediction_ui(running: bool) -> None:
    """Predict first: does copying more frozen stages from task A hurt task B? Kept with the tab."""
    kept = st.session_state.setdefault("lab_prediction", {})
    kept_answer(t("layers.predict"), LAB_ANSWERS, kept, "lab_pick", disabled=running,
                format_func=lambda a: t(f"layers.answers.{a}"))  # fmt: skip


def lab_verdict_ui(current: dict, points: list[dict]) -> None:
    """Once the lab is done: frozen AnB against BnB at the deepest copy, seed for seed, against the prediction."""
    predicted = st.session_state.get("lab_prediction", {}).get("answer")
    if predicted is None or current["status"] != "done" or not points:
        return
    measured, n, drop, half_width = lab_verdict(points)
    seeds = len({p["seed"] for p in points})
    said = {"predicted": t(f"layers.answers.{predicted}"), "n": n, "seeds": seeds, "drop": drop}
    if measured == CLOSE:
        st.markdown(t("layers.verdict_close", **said, half_width=half_width))
        return
    st.markdown(t("layers.verdict", **said, half_width=half_width, measured=t(f"layers.answers.{measured}")))
    right = predicted == measured
    (st.success if right else st.info)(t("learn.right" if right else "learn.wrong"))


def lab_live(current: dict) -> RunSnapshot | None:
    """The lab's training now (the last it submitted), while it is queued or training."""
    run_ids = [*current["bases"].values(), *(p["run_id"] for p in current["points"])]
    if current["status"] != "running" or not run_ids:
        return None
    try:
        snapshot = get_runner().snapshot(run_ids[-1])
    except RunNotFound:
        return None
    return None if snapshot.finished else snapshot


def lab_ui(lab: dict) -> None:
    """The lab's thread saves its state after every step; the page follows it until it ends."""
    poll_until_finished(
        lambda: saved_lab(get_runner(), lab["lab_id"]), lambda current: current["status"] == "running", lab_state_ui
    )


st.title(t("layers.title"))
st.write(t("layers.intro"))
lab_settings = settings_ui()
explain_ui(lab_settings)
labs = saved_labs(get_runner(), owner())
running = bool(labs) and labs[0]["status"] == "running"  # one lab at a time per tab: Stop it first
lab_prediction_ui(running)
if st.button(t("layers.run"), type="primary", disabled=running):
    LayerLab(get_runner(), owner(), lab_settings)  # runs in its own thread and saves its state as it goes
    st.rerun()
if not labs and settings.current().sharing:  # e.g. the lab the teacher ran before class, in another tab
    labs = saved_labs(get_runner(), None)
    if labs:
        st.info(t("layers.newest"))
if labs:
    lab_ui(labs[0])
st.caption(t("layers.paper"))
