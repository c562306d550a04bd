"""Ledger: every run of this tab (and the class's shared ones), compared, exported, tidied up."""

import json

import pandas as pd
import streamlit as st

from transfer_core.errors import RunNotFound, RunStillLive
from transfer_core.plots import race_curves
from transfer_core.runs import RunRecord, sharing_allowed
from ui.run_picker import run_label
from ui.session import get_runner, owner

RELOAD_SNIPPET = """from transfer_core.evaluate import load_exported

config, classes, model = load_exported("{name}")   # an nn.Module in eval mode
# model(images) -> class scores; images: (B, 3, {size}, {size}), normalised as the backbone expects
"""


def runs_ui() -> list[RunRecord]:
    store, me = get_runner().store, owner()
    sources = ["My runs", "Shared with the class"] if sharing_allowed() else ["My runs"]
    source = st.radio("Show", sources, horizontal=True)
    records = store.list(me) if source == "My runs" else store.shared()
    statuses = sorted({r.status for r in records})
    chosen = st.multiselect("Status", statuses, default=statuses)
    records = [r for r in records if r.status in chosen]
    if not records:
        st.info("No runs to show yet. Runs you train in this tab appear here.")
        return []
    table = pd.DataFrame(
        [{"run": r.run_id, "what": run_label(r), "status": r.status, "shared": r.shared} for r in records]
    )
    st.dataframe(table, hide_index=True, width="stretch")
    by_id = {r.run_id: r for r in records}
    picked = st.multiselect(
        "Select runs to compare, export or delete", list(by_id), format_func=lambda i: run_label(by_id[i])
    )
    return [by_id[i] for i in picked]


def overlay_ui(selected: list[RunRecord]) -> None:
    rows = [{"strategy": f"{r.run_id}", **m} for r in selected for m in r.metrics]
    if rows:
        st.plotly_chart(race_curves(pd.DataFrame(rows)), width="stretch")


def differences_ui(selected: list[RunRecord]) -> None:
    configs = pd.DataFrame({r.run_id: r.config.to_dict() for r in selected}).astype(str)
    differing = configs[configs.nunique(axis=1) > 1]
    if differing.empty:
        st.caption("Their configs are identical.")
        return
    st.markdown("**Where their configs differ**")
    st.dataframe(differing.style.apply(lambda row: ["background-color: #fff3cd"] * len(row), axis=1), width="stretch")


def export_ui(selected: list[RunRecord]) -> None:
    metrics = pd.DataFrame([{"run": r.run_id, **m} for r in selected for m in r.metrics])
    summary = [{"run": r.run_id, "owner_is_you": r.owner == owner(), "status": r.status, "config": r.config.to_dict(),
                "metrics": r.metrics} for r in selected]  # fmt: skip
    left, right = st.columns(2)
    left.download_button("Download metrics of the selection (CSV)", metrics.to_csv(index=False), "runs.csv", "text/csv")
    right.download_button(
        "Download the selection (JSON)", json.dumps(summary, indent=2), "runs.json", "application/json"
    )
    if len(selected) == 1 and selected[0].status == "done":
        run = selected[0]
        name = f"transfer-lab-{run.run_id}.zip"
        st.download_button(
            "Download the model: weights (safetensors) + config",
            get_runner().store.export_zip(run.run_id),
            name,
            "application/zip",
        )
        st.markdown("Load it again in Python:")
        st.code(RELOAD_SNIPPET.format(name=name, size=run.config.image_size), language="python")


def manage_ui(selected: list[RunRecord]) -> None:
    mine = [r for r in selected if r.owner == owner()]
    if not mine:
        return
    left, right = st.columns(2)
    if sharing_allowed() and left.button("Share with the class" if not all(r.shared for r in mine) else "Stop sharing"):
        share = not all(r.shared for r in mine)
        for run in mine:
            get_runner().store.update(run.run_id, shared=share)
        st.rerun()
    confirm = right.checkbox(f"Yes, delete {len(mine)} run(s) for good")
    if right.button("Delete", disabled=not confirm):
        for run in mine:
            try:
                get_runner().store.delete(run.run_id)
            except (RunStillLive, RunNotFound) as err:
                st.error(str(err))
        st.rerun()


st.title("Ledger")
st.write("Every run with its config, curves and results. Select a few to overlay them and see what differs.")
selected = runs_ui()
if selected:
    overlay_ui(selected)
    differences_ui(selected)
    export_ui(selected)
    manage_ui(selected)
