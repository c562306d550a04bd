"""Who this browser tab is, the process-wide runner, and the tab's active run.

A tab's identity is a secret in the browser's sessionStorage: it survives a page reload
(so a reload reconnects to the tab's runs) and a second tab gets its own. It never
appears in the URL, so a copied link shares the configuration, never the runs.

The secret itself is never shown, logged or written anywhere: run records, folders and
shared views use the owner id derived from it by a one-way hash, so a folder name seen
on the server (or in a run record) cannot be turned back into a tab's secret.
"""

import hashlib
import os
import uuid
from collections.abc import Mapping
from types import MappingProxyType

import streamlit as st

from transfer_core.data import user_data
from transfer_core.errors import RunNotFound, TransferLabError
from transfer_core.paths import features_dir, runs_dir
from transfer_core.runners.processes import ProcessRunner
from transfer_core.runners.runner import Runner, RunSnapshot
from transfer_core.store.features import FeatureStore
from transfer_core.store.runs import RunStore

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
    """One runner for the whole server: every session shares its slots and queue. Runs train in worker
    processes (TRANSFER_LAB_RUNNER=processes, the default), or in threads of this process (threads)."""
    slots = int(os.environ.get("TRANSFER_LAB_SLOTS", "1"))
    max_queue = int(os.environ.get("TRANSFER_LAB_MAX_QUEUE", "64"))
    feature_mb = int(os.environ.get("TRANSFER_LAB_FEATURE_STORE_MB", "2048"))
    store, features = RunStore(runs_dir()), FeatureStore(features_dir(), feature_mb * 1024**2)
    abandoned = 60 * float(os.environ.get("TRANSFER_LAB_ABANDONED_MINUTES", "10"))
    shared = {"slots": slots, "max_queue": max_queue, "features": features, "abandoned_seconds": abandoned}
    kind = os.environ.get("TRANSFER_LAB_RUNNER", "processes")
    if kind == "threads":
        return Runner(store, **shared)
    if kind == "ray":
        try:
            return ray_runner(store, dict(shared))
        except TransferLabError as err:  # the class still trains, here, and every page says why
            runner = process_runner(store, shared)
            runner.notice = str(err)
            return runner
    return process_runner(store, shared)


def process_runner(store: RunStore, shared: dict) -> Runner:
    return ProcessRunner(store, memory_mb=int(os.environ.get("TRANSFER_LAB_RUN_MEMORY_MB", "4096")), **shared)


def ray_runner(store: RunStore, shared: dict) -> Runner:
    """Runs as tasks on the Ray cluster at RAY_ADDRESS, or on a Ray started here when there is none.
    Without TRANSFER_LAB_SLOTS, the cluster's CPUs set how many runs train at once."""
    from transfer_core.runners.ray_cluster import RayRunner, start_ray  # Ray is imported only when chosen

    start_ray(os.environ.get("RAY_ADDRESS") or None)
    if "TRANSFER_LAB_SLOTS" not in os.environ:
        shared["slots"] = None
    return RayRunner(
        store,
        cpus_per_run=float(os.environ.get("TRANSFER_LAB_RAY_CPUS_PER_RUN", "1")),
        gpus_per_run=float(os.environ.get("TRANSFER_LAB_RAY_GPUS_PER_RUN", "1")),
        **shared,
    )


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
    user_data.seen(st.session_state["owner"])
    user_data.release_idle(60 * float(os.environ.get("TRANSFER_LAB_SESSION_IDLE_MINUTES", "60")))


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
