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
    saved_lab,
    saved_labs,
    start_again,
    stop_lab,
    trainings,
)
from transfer_core.metrics import near_chance
from transfer_core.models.backbones import get_spec
from transfer_core.models.run_time import expected_seconds, said_minutes
from transfer_core.runners.run_state import RunSnapshot
from ui.figures import layer_lab_figure
from ui.i18n import class_names, localize_figure, t
from ui.polling import poll_until_finished
from ui.run_status import run_status_line
from ui.session import get_runner, owner
from ui.widgets import kept_answer

LAB_ANSWERS = ("drops", "holds")
DROP = 0.02  # AnB this far below BnB counts as a drop: two images in a hundred


def settings_ui() -> LabSettings:
    left, middle, right = st.columns(3)
    per_class = left.number_input(t("data.train_per_class"), 20, 2000, LabSettings.train_per_class, step=20)
    epochs = middle.number_input(t("layers.epochs"), 1, 20, LabSettings.epochs)
    seed = right.number_input(t("transfer.seed"), 0, 2**31 - 1, 0)
    return LabSettings(train_per_class=int(per_class), epochs=int(epochs), seed=int(seed))


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
        )  # fmt: skip
    )
    base = base_configs(settings, len(classes))["baseA"]
    if (each := expected_seconds(base, len(classes) // 2)) is not None:  # every training is at most a base's
        st.caption(t("layers.cost", minutes=said_minutes(each * trainings(stages)), trainings=trainings(stages)))


def lab_state_ui(current: dict) -> None:
    points, bases = lab_points(get_runner(), current)
    stages = get_spec(current["settings"]["backbone"]).num_stages
    total = trainings(stages)
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
    frame = pd.DataFrame(points, columns=["n", "kind", "run_id", "val_acc"])
    st.plotly_chart(
        localize_figure(layer_lab_figure(frame, bases.get("baseB"), stages)), width="stretch", key="lab_plot"
    )
    if bases:
        st.caption(" · ".join(f"{name}: {acc:.3f}" for name, acc in bases.items()))
        settings = LabSettings(**current["settings"])
        half = DATASETS[settings.dataset].num_classes // 2  # each base tells half of the classes apart
        guessing = [name for name, acc in bases.items() if near_chance(acc, half, settings.val_per_class * half)]
        if guessing:
            st.info(t("layers.at_chance", bases=", ".join(guessing), chance=1 / half))
    lab_verdict_ui(current, points)


def lab_prediction_ui(running: bool) -> None:
    """Predict first: does copying more frozen stages from task A hurt task B? Kept with the tab."""
    kept = st.session_state.setdefault("lab_prediction", {})
    kept_answer(t("layers.predict"), LAB_ANSWERS, kept, "lab_pick", disabled=running,
                format_func=lambda a: t(f"layers.answers.{a}"))  # fmt: skip


def lab_verdict_ui(current: dict, points: list[dict]) -> None:
    """Once the lab is done: frozen AnB against BnB at the deepest copy, against the prediction."""
    predicted = st.session_state.get("lab_prediction", {}).get("answer")
    if predicted is None or current["status"] != "done" or not points:
        return
    deepest = max(p["n"] for p in points)
    acc = {p["kind"]: p["val_acc"] for p in points if p["n"] == deepest}
    if "AnB" not in acc or "BnB" not in acc:
        return
    measured = "drops" if acc["AnB"] < acc["BnB"] - DROP else "holds"
    said = {"predicted": t(f"layers.answers.{predicted}"), "measured": t(f"layers.answers.{measured}")}
    st.markdown(t("layers.verdict", n=deepest, anb=acc["AnB"], bnb=acc["BnB"], **said))


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
