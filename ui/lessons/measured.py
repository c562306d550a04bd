"""Questions the lab answers from a shipped measurement (model choice, the multi-task lab, negative transfer):
predict first, lock in, then see the measured seeds and the verdict, then predict again if you like."""

from collections.abc import Callable

import streamlit as st

from ui.i18n import t


def locked_predictions(name: str, questions: dict[str, str], options: dict[str, str]) -> dict[str, str] | None:
    """One choice per question ({question key: its label}) and Lock in. The locked answers, kept with the tab
    in `{name}_prediction`; None while the learner is still choosing (the measurement stays hidden)."""
    kept = st.session_state.setdefault(f"{name}_prediction", {})
    if set(questions) <= set(kept):
        return kept
    picks = {
        question: st.radio(label, list(options), format_func=options.get, index=None,
                           horizontal=len(questions) > 1, key=f"{name}_{question}")
        for question, label in questions.items()
    }  # fmt: skip
    if st.button(t("learn.lock_in"), key=f"lock_{name}", disabled=None in picks.values()):
        kept.update(picks)
        st.rerun()
    return None


def predicted_then_measured(
    name: str, questions: dict[str, str], options: dict[str, str], load: Callable[[], dict | None], missing: str
) -> tuple[dict[str, str], dict] | None:
    """The locked answers and the shipped measurement, once the learner has locked in and the file is here;
    else None (the measurement stays hidden, or the page says how to make it: the text under `missing`)."""
    if (kept := locked_predictions(name, questions, options)) is None:
        return None
    if (measured := load()) is None:
        st.caption(t(missing))
        return None
    return kept, measured


def judged(predicted: str, measured: str, said: str) -> None:
    """The measured answer's sentence, marked right or not (where "too close" is one of the options, a learner
    who chose it and saw it measured was right)."""
    right = predicted == measured
    (st.success if right else st.info)(said + " " + t("learn.right" if right else "learn.wrong"))


def predict_again(name: str) -> None:
    if st.button(t("learn.again"), key=f"again_{name}"):
        st.session_state[f"{name}_prediction"].clear()
        st.rerun()
