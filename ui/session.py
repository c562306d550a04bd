"""Who this browser tab is, the process-wide runner, and the tab's active run.

A tab's identity is a secret in the browser's sessionStorage: it survives a page reload
(so a reload reconnects to the tab's runs) and a second tab gets its own. It never
appears in the URL, so a copied link shares the configuration, never the runs.

The secret itself is never shown, logged or written anywhere: run records, folders and
shared views use the owner id derived from it by a one-way hash, so a folder name seen
on the server (or in a run record) cannot be turned back into a tab's secret.
"""

import hashlib
import uuid
from collections.abc import Mapping
from types import MappingProxyType

import streamlit as st

from transfer_core import settings
from transfer_core.data import session_memory
from transfer_core.errors import RunNotFound
from transfer_core.runners.choose import runner_for
from transfer_core.runners.run_state import RunSnapshot
from transfer_core.runners.runner import Runner

from . import tab_memory

TAB_IDENTITY_JS = """
export default function (component) {
  const { data, setStateValue } = component;
  const storageKey = "transfer-lab-tab";
  let token = window.sessionStorage.getItem(storageKey);
  if (!token) {
    token = data.proposal;
    window.sessionStorage.setItem(storageKey, token);
  }
  setStateValue("owner", token);
}
"""

_tab_identity = st.components.v2.component("transfer_lab_tab_identity", js=TAB_IDENTITY_JS)


@st.cache_resource
def get_runner() -> Runner:
    """One runner for the whole server, as its settings ask (TRANSFER_LAB_RUNNER and the rest)."""
    return runner_for(settings.current())


def owner_id(secret: str) -> str:
    """The owner id a tab's secret stands for (32 hex digits, safe as a folder name)."""
    return hashlib.sha256(f"transfer-lab-owner\0{secret}".encode()).hexdigest()[:32]


def mount_tab_identity() -> None:
    """Ask the browser for the tab's secret (once per script run, from app.py), and say the tab is
    still here: its queued runs are wanted and the data it holds in memory is kept."""
    proposal = st.session_state.setdefault("owner_proposal", uuid.uuid4().hex)
    result = _tab_identity(key="tab_identity", data={"proposal": proposal}, on_owner_change=lambda: None)
    secret = getattr(result, "owner", None)
    st.session_state["owner"] = owner_id(secret if isinstance(secret, str) and secret else proposal)
    tab_memory.restore(st.session_state["owner"])
    get_runner().seen(st.session_state["owner"])
    session_memory.seen(st.session_state["owner"])
    session_memory.release_idle(60 * settings.current().session_idle_minutes)


def owner() -> str:
    """This tab's owner id; until the browser has answered, the one it is about to adopt."""
    if "owner" not in st.session_state:
        st.session_state["owner"] = owner_id(st.session_state.setdefault("owner_proposal", uuid.uuid4().hex))
    return st.session_state["owner"]


def active_run() -> RunSnapshot | None:
    """The run this tab launched to follow on the Train page (kept across a reload), if it still exists.
    Runs started by Compare, the layer lab or a lesson are never adopted here."""
    run_id = st.session_state.get("active_run")
    if run_id is None:
        return None
    try:
        return get_runner().snapshot(run_id, owner=owner())
    except RunNotFound:  # deleted from the ledger since
        tab_memory.follow_run(None)
        return None


def set_active_run(run_id: str) -> None:
    tab_memory.follow_run(run_id)


def tab_snapshots(run_ids: dict[str, str], owners: Mapping[str, str] = MappingProxyType({})) -> dict[str, RunSnapshot]:
    """{label: snapshot} of this tab's runs; a run deleted meanwhile is left out. `owners` names the
    owner of a label's run where that is not this tab (a lesson the teacher prepared)."""
    runner, me = get_runner(), owner()
    found = {}
    for label, run_id in run_ids.items():
        try:
            found[label] = runner.snapshot(run_id, owner=owners.get(label, me))
        except RunNotFound:
            continue
    return found
