"""The teacher's "prepare this lesson": run a lesson's experiment ahead of class, for every seed the
class will use, so that no student queues for a result the server already has."""

import streamlit as st

from transfer_core import settings
from transfer_core.lessons import classroom
from transfer_core.lessons.questions import SEEDS, Lesson

from ..i18n import t
from ..session import get_runner
from ..teacher import may_prepare_lessons


def prepare_ui(lesson: Lesson) -> None:
    if lesson.experiment is None or not may_prepare_lessons():
        return
    with st.expander(t("prepare.title"), icon=":material/event_available:"):
        st.caption(t("prepare.intro"))
        default = settings.current().class_size if settings.current().sharing else len(SEEDS)
        seeds = st.number_input(t("prepare.seeds"), 1, 100, default, key=f"prepare_seeds_{lesson.key}")
        store = get_runner().store
        done, total = classroom.prepared_count(store, lesson, range(seeds))
        st.progress(done / total, text=t("prepare.status", done=done, total=total))
        if st.button(t("prepare.button"), key=f"prepare_{lesson.key}", icon=":material/playlist_add:"):
            queued, left = classroom.prepare(get_runner(), lesson, range(seeds))
            st.success(t("prepare.queued", queued=len(queued)))
            if left:
                st.warning(t("prepare.queue_full", left=left))
