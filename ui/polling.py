"""One way to follow work that finishes later: poll it, redraw, and stop polling once it is done.

A fragment reruns every second while the work is live (the browser drives the ticks, so they stop
when the tab closes); when it finishes, one full rerun redraws the page without polling.
"""

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from transfer_core.jobs import RunSnapshot

from .session import tab_snapshots

POLL_SECONDS = 1.0
State = TypeVar("State")


def poll_until_finished(
    read: Callable[[], State], is_live: Callable[[State], bool], draw: Callable[[State], None]
) -> None:
    """Draw `read()` now, and again every second while `is_live` says it is still going."""
    live = is_live(read())

    @st.fragment(run_every=POLL_SECONDS if live else None)
    def panel() -> None:
        state = read()
        draw(state)
        if live and not is_live(state):
            st.rerun()  # once: the page redraws without polling

    panel()


def poll_runs(run_ids: dict[str, str], draw: Callable[[dict[str, RunSnapshot]], None]) -> None:
    """Follow this tab's runs {label: run id} until every one has finished; `draw` gets {label: snapshot}."""
    poll_until_finished(
        lambda: tab_snapshots(run_ids), lambda snapshots: any(not s.finished for s in snapshots.values()), draw
    )
