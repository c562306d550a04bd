"""Take the code home: a setup as a plain PyTorch script and as a Jupyter notebook."""

import streamlit as st

from transfer_core.config import TrainConfig
from transfer_core.lessons import export

from .i18n import literal, t


def code_downloads(config: TrainConfig, key: str) -> None:
    """Two download buttons for `config`, or why this setup has no plain version."""
    try:
        code = export.script(config)
    except export.NotExportable as err:
        st.caption(t("export.unavailable", why=literal(err)))
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
