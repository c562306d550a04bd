"""Ledger: every run of this tab (and the class's shared ones), compared, exported, tidied up."""

import json

import pandas as pd
import streamlit as st

from transfer_core.errors import RunNotFound, RunStillLive
from transfer_core.metrics import metrics_rows
from transfer_core.plots import race_curves
from transfer_core.runs import RunRecord, sharing_allowed
from ui.i18n import labels, literal, localize_figure, localize_frame, t
from ui.run_picker import run_label
from ui.session import get_runner, owner

RELOAD_SNIPPET = """from transfer_core.reports import load_exported

config, classes, model = load_exported("{name}")   # an nn.Module in eval mode
# model(images) -> class scores; images: (B, 3, {size}, {size}), normalised as the backbone expects
"""


def runs_ui() -> list[RunRecord]:
    store, me = get_runner().store, owner()
    sources = ["mine", "shared"] if sharing_allowed() else ["mine"]
    source = st.radio(t("ledger.show"), sources, horizontal=True, format_func=labels("ledger.sources", sources).get)
    records, damaged = store.scan(me)
    if damaged:  # one damaged run must not hide the others; say so, without guessing whose it was
        st.warning(t("ledger.damaged", count=len(damaged), runs=", ".join(damaged)))
    records = records if source == "mine" else store.shared()
    statuses = sorted({r.status for r in records})
    chosen = st.multiselect(t("ledger.status"), statuses, default=statuses)
    records = [r for r in records if r.status in chosen]
    if not records:
        st.info(t("ledger.empty"))
        return []
    table = pd.DataFrame(
        [{"run": r.run_id, "what": run_label(r), "status": r.status, "shared": r.shared} for r in records]
    )
    st.dataframe(localize_frame(table), hide_index=True, width="stretch")
    by_id = {r.run_id: r for r in records}
    picked = st.multiselect(t("ledger.select"), list(by_id), format_func=lambda i: run_label(by_id[i]))
    return [by_id[i] for i in picked]


def overlay_ui(selected: list[RunRecord]) -> None:
    rows = [{"strategy": f"{r.run_id}", **m} for r in selected for m in metrics_rows(r.metrics)]
    if rows:
        st.plotly_chart(localize_figure(race_curves(pd.DataFrame(rows))), width="stretch")


def differences_ui(selected: list[RunRecord]) -> None:
    configs = pd.DataFrame({r.run_id: r.config.to_dict() for r in selected}).astype(str)
    differing = configs[configs.nunique(axis=1) > 1]
    if differing.empty:
        st.caption(t("ledger.identical"))
        return
    st.markdown(t("ledger.differ"))
    st.dataframe(differing.style.apply(lambda row: ["background-color: #fff3cd"] * len(row), axis=1), width="stretch")


def export_ui(selected: list[RunRecord]) -> None:
    metrics = pd.DataFrame([{"run": r.run_id, **m} for r in selected for m in metrics_rows(r.metrics)])
    summary = [{"run": r.run_id, "owner_is_you": r.owner == owner(), "status": r.status, "config": r.config.to_dict(),
                "metrics": metrics_rows(r.metrics)} for r in selected]  # fmt: skip
    left, right = st.columns(2)
    left.download_button(t("ledger.download_csv"), metrics.to_csv(index=False), "runs.csv", "text/csv")
    right.download_button(t("ledger.download_json"), json.dumps(summary, indent=2), "runs.json", "application/json")
    if len(selected) == 1 and selected[0].status == "done":
        run = selected[0]
        name = f"transfer-lab-{run.run_id}.zip"
        st.download_button(
            t("ledger.download_model"),
            get_runner().store.export_zip(run.run_id),
            name,
            "application/zip",
        )
        st.markdown(t("ledger.reload"))
        st.code(RELOAD_SNIPPET.format(name=name, size=run.config.image_size), language="python")


def manage_ui(selected: list[RunRecord]) -> None:
    mine = [r for r in selected if r.owner == owner()]
    if not mine:
        return
    left, right = st.columns(2)
    sharing = not all(r.shared for r in mine)
    if sharing_allowed() and left.button(t("ledger.share") if sharing else t("ledger.unshare")):
        share = not all(r.shared for r in mine)
        for run in mine:
            get_runner().store.update(run.run_id, shared=share)
        st.rerun()
    confirm = right.checkbox(t("ledger.confirm", count=len(mine)))
    if right.button(t("ledger.delete"), disabled=not confirm):
        for run in mine:
            try:
                get_runner().delete(run.run_id, owner=owner())  # the runner forgets it too
            except (RunStillLive, RunNotFound) as err:
                st.error(literal(err))
        st.rerun()


st.title(t("ledger.title"))
st.write(t("ledger.intro"))
selected = runs_ui()
if selected:
    overlay_ui(selected)
    differences_ui(selected)
    export_ui(selected)
    manage_ui(selected)
