"""Compare: one target task, every strategy, raced side by side, in and out of distribution."""

import pandas as pd
import streamlit as st

from transfer_core.backbones import get_spec
from transfer_core.catalog import describe
from transfer_core.data import SHIFT_DESCRIPTIONS
from transfer_core.errors import QueueFull
from transfer_core.experiments import race_configs, trained_parameters
from transfer_core.plots import race_curves
from ui.config_state import current_config
from ui.i18n import localize_figure, localize_frame, t, word
from ui.session import get_runner, owner, tab_snapshots
from ui.widgets import bind

POLL_SECONDS = 1.0


def setup_ui() -> dict:
    config = current_config()
    stages = get_spec(config.backbone).num_stages
    st.markdown(t("compare.task", task=describe(config)))
    partial = st.slider(t("compare.partial"), 1, stages - 1, stages // 2)
    bind(st.radio, t("compare.shift"), "val_shift", list(SHIFT_DESCRIPTIONS), format_func=SHIFT_DESCRIPTIONS.get)
    return race_configs(current_config(), partial)


def start_ui(race: dict) -> None:
    if st.button(t("compare.start", runs=len(race)), type="primary"):
        runner, me = get_runner(), owner()
        started = {}
        try:
            for label, config in race.items():
                started[label] = runner.submit(config, me)
        except QueueFull as err:
            st.error(t("compare.queue_full", error=err, queued=len(started)))
        st.session_state["race"] = started
        st.rerun()


def race_rows(race_ids: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    curves, summary, live = [], [], False
    for label, snapshot in tab_snapshots(race_ids).items():
        live |= not snapshot.finished
        curves += [{"strategy": label, **m} for m in snapshot.metrics]
        last = snapshot.metrics[-1] if snapshot.metrics else {}
        summary.append(
            {
                "strategy": label,
                "status": snapshot.status if snapshot.status != "queued" else f"queued ({snapshot.queue_position})",
                "val acc": last.get("val_acc"),
                "shifted acc": last.get("shift_acc"),
                "seconds": sum(m["seconds"] for m in snapshot.metrics) or None,
                "trainable parameters": trained_parameters(snapshot.config, len(snapshot.classes) or 10),
            }
        )
    return pd.DataFrame(curves), pd.DataFrame(summary), live


def results_ui(race_ids: dict[str, str], live: bool) -> None:
    @st.fragment(run_every=POLL_SECONDS if live else None)
    def panel() -> None:
        curves, summary, still_live = race_rows(race_ids)
        finished = int((~summary["status"].str.startswith(("queued", "running"))).sum()) if len(summary) else 0
        st.markdown(t("compare.finished", done=finished, total=len(race_ids)))
        if not curves.empty:
            st.plotly_chart(localize_figure(race_curves(curves)), width="stretch", key="race_curves")
        formats = {"val acc": "%.3f", "shifted acc": "%.3f", "seconds": "%.1f"}
        columns = {word(name): st.column_config.NumberColumn(format=f) for name, f in formats.items()}
        st.dataframe(localize_frame(summary), hide_index=True, width="stretch", column_config=columns)
        if live and not still_live:
            st.rerun()

    panel()


st.title(t("compare.title"))
st.write(t("compare.intro"))
race = setup_ui()
start_ui(race)
race_ids = st.session_state.get("race", {})
if race_ids:
    _, _, live = race_rows(race_ids)
    results_ui(race_ids, live)
st.caption(t("compare.research"))
