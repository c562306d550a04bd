"""A button that downloads files with a progress bar (datasets on the Data page, weights on Backbone)."""

from collections.abc import Callable

import streamlit as st

from transfer_core.data.downloads import Remote, fetch
from transfer_core.errors import TransferLabError

from .i18n import literal, t


def download_button_ui(label: str, files: Callable[[], list[Remote]]) -> None:
    """On a click, fetch `files()` showing each file's progress; rerun the page once they are in."""
    if not st.button(label, icon=":material/download:"):
        return
    bar = st.progress(0.0, text=t("data.download_start"))

    def progress(name: str, done: int, total: int | None) -> None:
        size = f" of {total / 1e6:.0f} MB" if total else ""
        bar.progress(min(done / total, 1.0) if total else 0.0, text=f"{name}: {done / 1e6:.1f}{size}")

    try:
        fetch(files(), progress)
    except TransferLabError as err:
        bar.empty()  # a bar left at "Starting the download…" would say it is still going
        st.error(literal(err))
    else:
        st.rerun()
