"""Buttons that move files: a setup taken home as a plain PyTorch script and a Jupyter notebook, and public
datasets or weights fetched with a progress bar (the Data page, Backbone)."""

from collections.abc import Callable

import streamlit as st

from transfer_core.config import TrainConfig
from transfer_core.data.downloads import Remote, fetch
from transfer_core.errors import TransferLabError
from transfer_core.lessons import export

from .i18n import literal, t


def code_downloads(config: TrainConfig, key: str) -> None:
    """Two download buttons for `config`, or why this setup has no plain version."""
    try:
        code = export.script(config)
    except export.NotExportable as err:
        st.caption(t("export.unavailable", why=err))  # t escapes it once
        return
    stem = export.file_stem(config)
    script_column, notebook_column = st.columns(2)
    script_column.download_button(
        t("export.script"), code, file_name=f"{stem}.py", mime="text/x-python", key=f"{key}_py",
        icon=":material/code:", on_click="ignore", help=t("export.help"),
    )  # fmt: skip
    notebook_column.download_button(
        t("export.notebook"), lambda: export.notebook(config), file_name=f"{stem}.ipynb",
        mime="application/x-ipynb+json", key=f"{key}_ipynb", icon=":material/description:", on_click="ignore",
        help=t("export.help"),
    )  # fmt: skip


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
