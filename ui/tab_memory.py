"""What a tab started or answered, kept on the server under its owner id, so that a reload (a new
Streamlit session presenting the same tab secret) brings back its Compare race, its lesson
predictions, results and score, and the run its Train page follows.

Kept in this server process only: a restart forgets it (the runs themselves stay in the Ledger).
"""

import streamlit as st

KEPT = (
    "race", "race_prediction", "race_setup", "lab_prediction", "lesson_predictions", "lesson_verdicts", "lesson_runs",
    "lesson_seeds_used", "lesson_prepared", "choice_prediction", "multitask_prediction",
    "negative_prediction",
)  # fmt: skip
TRAIN = "train"  # {"active_run": run id}: the run the user launched to follow on the Train page


@st.cache_resource
def _by_owner() -> dict[str, dict[str, dict]]:
    return {}


def restore(owner: str) -> None:
    """Point this session's kept entries at the owner's copies on the server (made on first use). The
    pages change those dicts in place, so the server's copy is always the current one."""
    kept = _by_owner().setdefault(owner, {})
    for key in (*KEPT, TRAIN):
        st.session_state[key] = kept.setdefault(key, {})
    if "active_run" not in st.session_state and kept[TRAIN].get("active_run"):
        st.session_state["active_run"] = kept[TRAIN]["active_run"]


def follow_run(run_id: str | None) -> None:
    """Remember the run the Train page follows (None: none)."""
    train = st.session_state.setdefault(TRAIN, {})
    if run_id is None:
        st.session_state.pop("active_run", None)
        train.pop("active_run", None)
    else:
        st.session_state["active_run"] = train["active_run"] = run_id
