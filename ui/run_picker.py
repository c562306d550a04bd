"""Choosing one of this tab's finished runs, and its validation report (computed once per run)."""

import time

import streamlit as st

from transfer_core.catalog import describe
from transfer_core.evaluate import ValidationReport, validation_report
from transfer_core.runs import RunRecord

from .i18n import t
from .session import get_runner, owner


@st.cache_data(max_entries=8, show_spinner=False)
def run_report(run_id: str) -> ValidationReport:
    store = get_runner().store
    record = store.load(run_id)
    return validation_report(record.config, record.classes, store.load_weights(run_id), record.owner)


def run_label(record: RunRecord) -> str:
    when = time.strftime("%H:%M:%S", time.localtime(record.created))
    accuracy = f" · val acc {record.metrics[-1]['val_acc']:.3f}" if record.metrics else ""
    return f"{when} · {describe(record.config)}{accuracy}"


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
    return st.selectbox(t("results.run"), runs, index=ids.index(active) if active in ids else 0, format_func=run_label)
