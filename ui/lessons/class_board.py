"""The class board's lesson questions: before the reveal, how the class predicted (anonymous counts);
after the runs, every seed the class measured, and the verdict they decide together."""

import pandas as pd
import streamlit as st

from transfer_core.lessons import classroom
from transfer_core.lessons.questions import CLOSE, LESSONS, decide, measured_points

from ..figures import prediction_bars, seed_strip
from ..i18n import localize_figure, t
from ..session import get_runner


def lesson_questions_ui() -> None:
    store = get_runner().store
    answered = {lesson.key: classroom.class_answers(store, lesson.key) for lesson in LESSONS if lesson.experiment}
    answered = {key: answers for key, answers in answered.items() if answers.predictions or answers.results}
    st.subheader(t("board.lessons"))
    if not answered:
        st.caption(t("board.lessons_empty"))
        return
    key = st.selectbox(t("board.lesson"), list(answered), format_func=lambda k: t(f"lessons.{k}.title"),
                       key="board_lesson")  # fmt: skip
    lesson = next(lesson for lesson in LESSONS if lesson.key == key)
    answers = answered[key]

    def option(label: str) -> str:
        return t(f"lessons.{key}.options.{label}") if label in lesson.options else label

    st.markdown(t(f"lessons.{key}.question"))
    predictions, measured = st.columns(2)
    with predictions:
        st.markdown(t("board.predicted", students=sum(answers.predictions.values())))
        counts = pd.DataFrame(
            [{"answer": option(o), "students": answers.predictions.get(o, 0)} for o in lesson.options]
        )
        st.plotly_chart(localize_figure(prediction_bars(counts)), key="board_predictions", width="stretch")
    with measured:
        if not answers.results:
            st.info(t("board.not_measured"))
            return
        points = pd.DataFrame(measured_points(lesson, answers.results), columns=["answer", "seed", "value"])
        points["answer"] = points["answer"].map(option)
        seeds = points["seed"].nunique()
        st.markdown(t("board.measured", seeds=seeds, students=answers.students))
        if lesson.experiment.measure == "part":  # which part moved most: a count per part, not a number
            parts = points["value"].map(lambda part: t(f"lessons.{key}.options.{part}")).value_counts()
            counts = pd.DataFrame({"answer": parts.index, "students": parts.values})
            st.plotly_chart(localize_figure(prediction_bars(counts)), key="board_parts", width="stretch")
        else:
            title = t(f"board.value_{lesson.experiment.measure}")
            st.plotly_chart(localize_figure(seed_strip(points, title)), key="board_seeds", width="stretch")
        verdict = decide(lesson, answers.results)
        st.markdown(t("board.verdict_close") if verdict == CLOSE else t("board.verdict", answer=option(verdict)))
