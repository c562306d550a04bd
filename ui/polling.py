"""One way to follow work that finishes later: poll it, redraw, and stop polling once it is done.

A fragment reruns every second while the work is live (the browser drives the ticks, so they stop
when the tab closes); when it finishes, one full rerun redraws the page without polling.
"""

from collections.abc import Callable, Hashable, Mapping
from types import MappingProxyType
from typing import Any, TypeVar

import streamlit as st

from transfer_core.runners.run_state import RunSnapshot

from . import i18n
from .session import tab_snapshots

POLL_SECONDS = 1.0
QUEUED_POLL_SECONDS = 3.0  # nothing moves while a run waits: ask less often
State = TypeVar("State")


def poll_until_finished(
    read: Callable[[], State],
    is_live: Callable[[State], bool],
    draw: Callable[[State], None],
    interval: Callable[[State], float] = lambda state: POLL_SECONDS,
) -> None:
    """Draw `read()` now, and again every `interval(state)` seconds while `is_live` says it is still going."""
    first = read()
    live, every = is_live(first), interval(first)

    @st.fragment(run_every=every if live else None)
    def panel() -> None:
        state = read()
        draw(state)
        if live and (not is_live(state) or interval(state) != every):
            st.rerun()  # once: the page redraws without polling, or polls at the new pace

    panel()


def run_interval(snapshots: list[RunSnapshot]) -> float:
    """Poll slowly while every live run is still queued, every second once one trains."""
    return QUEUED_POLL_SECONDS if all(s.status == "queued" for s in snapshots if not s.finished) else POLL_SECONDS


def poll_runs(
    run_ids: dict[str, str],
    draw: Callable[[dict[str, RunSnapshot]], None],
    owners: Mapping[str, str] = MappingProxyType({}),
) -> None:
    """Follow this tab's runs {label: run id} until every one has finished; `draw` gets {label: snapshot}.
    `owners` names the owner of a label's run where that is not this tab."""
    poll_until_finished(
        lambda: tab_snapshots(run_ids, owners),
        lambda snapshots: any(not s.finished for s in snapshots.values()),
        draw,
        lambda snapshots: run_interval(list(snapshots.values())),
    )


def built_once(key: Hashable, version: Any, build: Callable[[], Any]) -> Any:
    """`build()` once per (key, version, language) for the whole server: a poll that finds nothing new
    costs no figure, and tabs watching the same run share one. Callers must not change what it returns."""
    return _built(key, version, i18n.language(), build)


@st.cache_resource(max_entries=64, show_spinner=False)
def _built(key: Hashable, version: Any, language: str, _build: Callable[[], Any]) -> Any:
    return _build()  # `_build` is not part of the cache key (Streamlit skips arguments named _*)
