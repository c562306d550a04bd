"""The sidebar every page shares: the device and this tab's active run."""

import streamlit as st

from transfer_core.errors import RunNotFound

from . import teacher
from .describe import compute_words
from .i18n import Markdown, language_picker, setup_words, t, word
from .lessons.frame import score
from .session import active_run, get_runner

STATUS_ICONS = {
    "queued": ":material/hourglass_top:",
    "running": ":material/directions_run:",
    "done": ":material/check_circle:",
    "failed": ":material/error:",
    "cancelled": ":material/stop_circle:",
    "interrupted": ":material/warning:",
}


def sidebar_ui():
    """Draw the sidebar; returns the slot for the lesson score, which is filled after the page has run
    (a page may have just scored a prediction)."""
    with st.sidebar:
        language_picker()
        st.markdown(t("sidebar.device", device=compute_words(get_runner().compute(), setup_words)))
        if get_runner().notice:
            st.warning(t("sidebar.runner_notice", notice=get_runner().notice))
        if teacher.active():
            st.caption(t("sidebar.teacher"))
        score_slot = st.empty()
        active_run_ui()
    return score_slot


def score_ui(slot) -> None:
    right, answered = score()
    if answered:
        slot.markdown(t("sidebar.score", right=right, answered=answered))


def active_run_ui() -> None:
    try:
        snapshot = active_run()
    except RunNotFound:
        snapshot = None
    if snapshot is None:
        st.caption(t("sidebar.no_run"))
        return
    line = t("sidebar.active_run", icon=Markdown(STATUS_ICONS.get(snapshot.status, "")), status=word(snapshot.status))
    if snapshot.status == "queued" and snapshot.queue_position:
        ahead = snapshot.queue_position - 1
        line += t("sidebar.queue_place", ahead=ahead) if ahead else t("sidebar.queue_next")
    elif snapshot.progress is not None and snapshot.status == "running":
        line += t("sidebar.epoch", epoch=snapshot.progress.epoch, epochs=snapshot.progress.epochs)
    if snapshot.summary:
        line += t("sidebar.val_acc", acc=snapshot.summary.final_val_acc)
    st.markdown(line)
    st.page_link("app_pages/train.py", label=t("sidebar.go_to_run"), icon=":material/monitoring:")
