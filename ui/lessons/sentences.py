"""Lesson 11's own parts: what the definitions look like before the question, and after it the measured
picture of where TF-IDF from scratch meets the probe on MiniLM as labelled definitions grow."""

import random

import streamlit as st

from transfer_core.lessons import figures as lesson_figures
from transfer_core.lessons.questions import Lesson

from ..figures import spread_curves
from ..i18n import labels, literal, localize_figure, t, t_plain
from .experiment import draw_own_seeds
from .measured import judged, predict_again, predicted_then_measured

EXAMPLES_PER_KIND = 2
FIGURE = "definitions_per_kind"
SERIES = ("probe", "tfidf")


def examples_ui(lesson: Lesson) -> None:
    """Two definitions of each kind, as WordNet writes them: the task, seen before predicting."""
    from transfer_core.text import definitions

    try:
        kinds = definitions.definitions_by_kind()
    except OSError:
        st.info(t("lessons.sentences.no_wordnet"))
        return
    st.markdown(t("lessons.sentences.examples"))
    picked = random.Random(0)  # a kind's file opens with its most abstract entries: show typical ones
    lines = [f"- **{kind}**: {literal(text)}" for kind, texts in kinds.items()
             for text in picked.sample(texts, EXAMPLES_PER_KIND)]  # fmt: skip
    st.markdown("\n".join(lines))


CROSSINGS = ("by_20", "by_50", "by_200", "not_by_200")  # where TF-IDF's mean reaches the probe's, predicted


def crossed(at: int | None) -> str:
    """The answer the measured crossing (definitions per kind, or None) makes right."""
    if at is None or at > 200:
        return "not_by_200"
    return next(option for option, most in (("by_20", 20), ("by_50", 50), ("by_200", 200)) if at <= most)


def crossing_ui(lesson: Lesson) -> None:
    """A second prediction: where TF-IDF's line meets the probe's as labelled definitions grow. Then both lines,
    the learner's own seeds as stars at the lesson's size, and where (if anywhere) the means meet."""
    st.subheader(t("lessons.sentences.figure_title"))
    options = labels("lessons.sentences.crossings", CROSSINGS)
    question = {"at": t("lessons.sentences.crossing_question")}
    answered = predicted_then_measured("crossing", question, options, lesson_figures.load_sentences,
                                       "lessons.sentences.figure_missing")  # fmt: skip
    if answered is None:
        return
    kept, measured = answered
    points = measured[FIGURE].copy()
    points["series"] = points["series"].map(lambda series: t_plain(f"lessons.sentences.options.{series}"))
    chart = spread_curves(points, t_plain("lessons.sentences.figure_x"), log_x=True)
    draw_own_seeds(chart, lesson, set(SERIES), lambda label: t_plain(f"lessons.sentences.options.{label}"))
    st.plotly_chart(localize_figure(chart), key=f"figure_{FIGURE}", width="stretch")
    setup = measured["setup"]
    st.caption(t("lessons.sentences.figure_caption", epochs=setup["epochs"], val=setup["val_per_class"]))
    at = lesson_figures.crossover(measured[FIGURE], "probe", "tfidf")
    said = t("lessons.sentences.crossing", at=at) if at else t("lessons.sentences.no_crossing")
    judged(kept["at"], crossed(at), said)
    predict_again("crossing")
