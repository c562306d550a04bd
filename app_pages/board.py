"""Class board: the class's answers to the lessons' questions, and every run students shared with the class."""

import time

import pandas as pd
import plotly.express as px
import streamlit as st

from transfer_core import settings
from ui.describe import setting_values
from ui.i18n import MISSING, localize_figure, setup_words, t
from ui.lessons.class_board import lesson_questions_ui
from ui.run_picker import run_label
from ui.session import get_runner, owner

st.title(t("board.title"))
st.write(t("board.intro"))
if not settings.current().sharing:
    st.info(t("board.off"))
    st.stop()
lesson_questions_ui()
st.subheader(t("board.shared_runs"))
store, me = get_runner().store, owner()
shared = [record for record in store.shared() if record.status == "done"]
if not shared:
    st.info(t("board.empty"))
    st.stop()

students: dict[str, str] = {}  # owners become "student 1, 2, ..." in order of first sharing; never their ids
for record in reversed(shared):
    if record.owner != me and record.owner not in students:
        students[record.owner] = t("board.student", n=len(students) + 1)


def who(record) -> str:
    return t("board.you") if record.owner == me else students[record.owner]


def curve_name(record) -> str:
    """Who, with what, when: a learner tells runs apart by these, not by an id."""
    when = time.strftime("%H:%M:%S", time.localtime(record.created))
    return f"{who(record)} · {setting_values(record.config, setup_words)['strategy']} · {when}"


curves = pd.DataFrame(
    [{"run": curve_name(r), "epoch": m.epoch, "val_acc": m.val_acc} for r in shared for m in r.metrics]
)
figure = px.line(curves, x="epoch", y="val_acc", color="run", markers=True, title=t("board.chart"),
                 labels={"val_acc": "validation accuracy", "epoch": "epoch"})  # fmt: skip
figure.update_xaxes(dtick=1)  # whole epochs: a run reports after each one
figure.update_layout(yaxis_range=[0, 1], height=420)
st.plotly_chart(localize_figure(figure), width="stretch")
st.subheader(t("board.table"))
rows = [
    {
        t("board.col_who"): who(record),
        t("board.col_what"): run_label(record),
        t("board.col_acc"): record.summary.final_val_acc if record.summary else None,
        t("board.col_shift"): record.summary.final_shift_acc if record.summary else None,
        t("board.col_seconds"): record.summary.seconds if record.summary else None,
    }
    for record in shared
]
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", placeholder=MISSING)
