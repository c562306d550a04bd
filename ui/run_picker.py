"""Choosing one of this tab's finished runs, and its validation report (computed once per run)."""

import time

import streamlit as st

from transfer_core.analysis.validation import ValidationReport, load_trained_model, validation_report
from transfer_core.resolve import verified_data
from transfer_core.store.runs import RunRecord

from .describe import describe_config
from .i18n import setup_words, t, word
from .session import get_runner, owner


@st.cache_data(max_entries=8, show_spinner=False)
def run_report(run_id: str) -> ValidationReport:
    """The run's trained model on the data it trained on; DataChanged when that data is no longer there."""
    store = get_runner().store
    record = store.load(run_id)
    data = verified_data(record)
    model = load_trained_model(record.config, len(record.classes), store.load_weights(run_id))
    return validation_report(record.config, record.classes, model, data)


def run_label(record: RunRecord) -> str:
    when = time.strftime("%H:%M:%S", time.localtime(record.created))
    accuracy = f" · {word('val acc')} {record.summary.final_val_acc:.3f}" if record.summary else ""
    return f"{when} · {describe_config(record.config, setup_words)}{accuracy}"


def finished_run_ui(with_feature_records: bool = False) -> RunRecord | None:
    """A select box of this tab's finished runs, the active one first; None (and a hint) if there are none."""
    store = get_runner().store
    runs = [r for r in store.list(owner()) if r.status == "done"]
    if with_feature_records:
        runs = [r for r in runs if store.records(r.run_id)]
    if not runs:
        st.info(t("results.no_run"))
        return None
    ids = [r.run_id for r in runs]
    active = st.session_state.get("active_run")
    names = {r.run_id: run_label(r) for r in runs}  # looked up now: format_func may run outside the page's run
    chosen = st.selectbox(t("results.run"), ids, index=ids.index(active) if active in ids else 0, format_func=names.get)
    return runs[ids.index(chosen)]
