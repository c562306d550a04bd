"""Ledger: every run of this tab (and the class's shared ones), compared, exported, tidied up."""

import json
import time

import pandas as pd
import streamlit as st

from transfer_core import settings
from transfer_core.errors import RunNotFound, RunStillLive
from transfer_core.metrics import metrics_rows
from transfer_core.store.runs import RunRecord
from ui.describe import setting_values
from ui.figures import race_curves
from ui.i18n import MISSING, field_label, labels, literal, localize_figure, localize_frame, setup_words, t, word
from ui.run_picker import run_label
from ui.session import get_runner, owner

RELOAD_SNIPPET = """from transfer_core.analysis.validation import load_exported

config, classes, model = load_exported("{name}")   # an nn.Module in eval mode
# model(images) -> class scores; images: (B, 3, {size}, {size}), normalised as the backbone expects
"""


def runs_ui() -> list[RunRecord]:
    store, me = get_runner().store, owner()
    sources = ["mine", "shared"] if settings.current().sharing else ["mine"]
    source = st.radio(t("ledger.show"), sources, horizontal=True, format_func=labels("ledger.sources", sources).get)
    records, damaged = store.scan(me)
    if damaged:  # one damaged run must not hide the others; say so, without guessing whose it was
        st.warning(t("ledger.damaged", count=len(damaged), runs=", ".join(damaged)))
    records = records if source == "mine" else store.shared()
    statuses = sorted({r.status for r in records})
    chosen = kept_multiselect(t("ledger.status"), statuses, "ledger_status", everything_at_first=True, format_func=word)
    records = [r for r in records if r.status in chosen]
    if not records:
        st.info(t("ledger.empty"))
        return []
    st.dataframe(localize_frame(runs_table(records)), hide_index=True, width="stretch", placeholder=MISSING,
                 column_config={word("val acc"): st.column_config.NumberColumn(format="%.3f")})  # fmt: skip
    by_id = {r.run_id: r for r in records}
    picked = kept_multiselect(t("ledger.select"), list(by_id), "ledger_pick", format_func=lambda i: run_label(by_id[i]))
    return [by_id[i] for i in picked]


def runs_table(records: list[RunRecord]) -> pd.DataFrame:
    rows = []
    for r in records:
        row = {"run": r.run_id, "what": run_label(r), "status": word(r.status),
               "val acc": r.summary.final_val_acc if r.summary else None}  # fmt: skip
        if settings.current().sharing:  # a "shared" column means nothing where runs cannot be shared
            row["shared"] = r.shared
        rows.append(row)
    return pd.DataFrame(rows)


def kept_multiselect(label: str, options: list, key: str, everything_at_first: bool = False, **kwargs) -> list:
    """A multiselect whose choices survive runs changing state: the options change as runs finish, and
    a multiselect whose options change is a new widget, with nothing selected."""
    kept_key = f"{key}_kept"
    if kept_key not in st.session_state:
        st.session_state[kept_key] = list(options) if everything_at_first else []
    seen_key = f"{key}_seen"  # options new since last time join a filter that showed everything
    new = [o for o in options if o not in st.session_state.get(seen_key, options)]
    st.session_state[seen_key] = list(options)
    if everything_at_first:  # kept too, or the next rerun would drop them again
        st.session_state[kept_key] += new
    st.session_state[key] = [o for o in options if o in st.session_state[kept_key]]

    def keep() -> None:
        st.session_state[kept_key] = list(st.session_state[key])

    return st.multiselect(label, options, key=key, on_change=keep, **kwargs)


def overlay_ui(selected: list[RunRecord]) -> None:
    rows = [{"strategy": legend_name(r), **m} for r in selected for m in metrics_rows(r.metrics)]
    if rows:
        st.plotly_chart(localize_figure(race_curves(pd.DataFrame(rows))), width="stretch")


def legend_name(record: RunRecord) -> str:
    """Short enough for a legend, and telling runs apart: when it started, its strategy, its id's start."""
    when = time.strftime("%H:%M:%S", time.localtime(record.created))
    return f"{when} {setting_values(record.config, setup_words)['strategy']} ({record.run_id[:6]})"


def differences_ui(selected: list[RunRecord]) -> None:
    """The settings that differ between the selected runs, by the names and values the pages use."""
    if len(selected) < 2:  # one run differs from nothing
        return
    configs = pd.DataFrame({legend_name(r): setting_values(r.config, setup_words) for r in selected})
    differing = configs[configs.nunique(axis=1) > 1].rename(index=field_label)
    if differing.empty:
        st.caption(t("ledger.identical"))
        return
    st.markdown(t("ledger.differ"))
    st.dataframe(
        differing.style.apply(lambda row: ["background-color: #fff3cd"] * len(row), axis=1),
        width="stretch",
        placeholder=MISSING,
    )


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
    if settings.current().sharing and left.button(t("ledger.share") if sharing else t("ledger.unshare")):
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
