"""Compare: one target task, every strategy, raced side by side, in and out of distribution."""

import pandas as pd
import streamlit as st

from transfer_core.backbones import get_spec
from transfer_core.catalog import describe
from transfer_core.data import SHIFT_DESCRIPTIONS
from transfer_core.errors import QueueFull, RunNotFound
from transfer_core.experiments import race_configs, trained_parameters
from transfer_core.plots import race_curves
from ui.config_state import current_config
from ui.session import get_runner, owner
from ui.widgets import bind

POLL_SECONDS = 1.0


def setup_ui() -> dict:
    config = current_config()
    stages = get_spec(config.backbone).num_stages
    st.markdown(f"**Task:** {describe(config)}.")
    partial = st.slider("Partial fine-tune: stages frozen", 1, stages - 1, stages // 2)
    bind(st.radio, "Shifted validation copy", "val_shift", list(SHIFT_DESCRIPTIONS), format_func=SHIFT_DESCRIPTIONS.get)
    return race_configs(current_config(), partial)


def start_ui(race: dict) -> None:
    if st.button(f"Start the race ({len(race)} runs, one after another)", type="primary"):
        runner, me = get_runner(), owner()
        started = {}
        try:
            for label, config in race.items():
                started[label] = runner.submit(config, me)
        except QueueFull as err:
            st.error(f"{err} {len(started)} of the race's runs were queued; the rest were not.")
        st.session_state["race"] = started
        st.rerun()


def race_rows(race_ids: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame, bool]:
    runner, me = get_runner(), owner()
    curves, summary, live = [], [], False
    for label, run_id in race_ids.items():
        try:
            snapshot = runner.snapshot(run_id, owner=me)
        except RunNotFound:
            continue
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
        st.markdown(f"**{finished} of {len(race_ids)} runs finished**")
        if not curves.empty:
            st.plotly_chart(race_curves(curves), width="stretch", key="race_curves")
        st.dataframe(summary, hide_index=True, width="stretch",
                     column_config={"val acc": st.column_config.NumberColumn(format="%.3f"),
                                    "shifted acc": st.column_config.NumberColumn(format="%.3f"),
                                    "seconds": st.column_config.NumberColumn(format="%.1f")})  # fmt: skip
        if live and not still_live:
            st.rerun()

    panel()


st.title("Compare")
st.write(
    "Predict first: which strategy wins on this task, and which holds up when the images change? Then race them. "
    "Every run gets the same images, split and seed; only the strategy differs."
)
race = setup_ui()
start_ui(race)
race_ids = st.session_state.get("race", {})
if race_ids:
    _, _, live = race_rows(race_ids)
    results_ui(race_ids, live)
st.caption(
    "What research found (Kumar et al., 2022): fine-tuning every stage can beat a linear probe on images like the "
    "training ones yet lose on shifted ones, because it distorts the pretrained features; probing first and then "
    "fine-tuning gently (LP-FT) tends to do well on both. At classroom scale the gaps are small and noisy: "
    "change the seed and race again before drawing conclusions."
)
