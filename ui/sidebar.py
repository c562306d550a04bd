"""The sidebar every page shares: the device and this tab's active run."""

import streamlit as st

from transfer_core.catalog import device_summary
from transfer_core.errors import RunNotFound

from .session import active_run

STATUS_ICONS = {
    "queued": ":material/hourglass_top:",
    "running": ":material/directions_run:",
    "done": ":material/check_circle:",
    "failed": ":material/error:",
    "cancelled": ":material/stop_circle:",
    "interrupted": ":material/warning:",
}


def sidebar_ui() -> None:
    with st.sidebar:
        st.markdown(f"**Device:** {device_summary()}")
        try:
            snapshot = active_run()
        except RunNotFound:
            snapshot = None
        if snapshot is None:
            st.caption("No run yet in this tab.")
            return
        icon = STATUS_ICONS.get(snapshot.status, "")
        line = f"**Active run:** {icon} {snapshot.status}"
        if snapshot.status == "queued" and snapshot.queue_position:
            line += f" (place {snapshot.queue_position} in the queue)"
        elif snapshot.progress is not None and snapshot.status == "running":
            line += f", epoch {snapshot.progress.epoch}/{snapshot.progress.epochs}"
        if snapshot.metrics:
            line += f" · val acc {snapshot.metrics[-1]['val_acc']:.3f}"
        st.markdown(line)
        st.page_link("app_pages/train.py", label="Go to the run", icon=":material/monitoring:")
