"""Weights on the Backbone page: download torchvision's, or bring your own."""

import streamlit as st

from transfer_core import settings
from transfer_core.data import user_data
from transfer_core.data.downloads import weights_file
from transfer_core.errors import TransferLabError
from transfer_core.models.backbones import get_spec
from transfer_core.models.weight_upload import SUFFIXES, check_weights, read_weights_file
from transfer_core.models.weights import TORCHVISION_WEIGHTS, downloads_allowed

from .config_state import update_config
from .downloads import download_button_ui
from .i18n import literal, t
from .own_data import checked_once
from .session import owner


def download_weights_ui(name: str) -> None:
    """A button that fetches torchvision's ImageNet weights into the torch cache, with a progress bar."""
    if name not in TORCHVISION_WEIGHTS or not downloads_allowed():
        return
    download_button_ui(t("weights.download"), lambda: [weights_file(name)])


def own_weights_ui(name: str) -> None:
    """Upload weights for this backbone; they are checked by name and shape, then kept as safetensors."""
    st.subheader(t("weights.title"))
    st.write(t("weights.intro", title=get_spec(name).title))
    try:
        limits = settings.current().uploads
    except TransferLabError as err:
        st.error(t("weights.bad_settings", error=err))
        return
    upload = st.file_uploader(
        t("weights.upload", name=name), type=[s.lstrip(".") for s in SUFFIXES], max_upload_size=limits.upload_mb
    )
    if upload is not None:
        checked_upload_ui(name, upload, limits)
    kept_weights_ui(name)


def checked_upload_ui(name: str, upload, limits) -> None:
    key = (upload.file_id, name)
    result = checked_once(
        "weights_check", key, lambda: check_weights(read_weights_file(upload.getvalue(), upload.name, limits), name)
    )
    if isinstance(result, TransferLabError):
        st.error(f"{literal(upload.name)}: {literal(result)}")
        return
    st.success(t("weights.fits", file=upload.name, name=name, count=len(result.state)))
    if result.ignored:
        st.caption(t("weights.ignored", keys=", ".join(result.ignored[:8])))
    stem = upload.name.rsplit(".", 1)[0]
    weights_name = st.text_input(t("weights.name"), value=stem[:40], key="weights_name", max_chars=40)
    if st.button(t("weights.keep"), type="primary", icon=":material/add_circle:"):
        try:
            user_data.keep_weights(owner(), weights_name, name, result.state, limits)
        except TransferLabError as err:
            st.error(literal(err))
        else:
            st.success(t("weights.kept", name=weights_name))


def kept_weights_ui(name: str) -> None:
    mine = {n: b for n, b in user_data.saved_weights(owner()).items() if b == name}
    for weights_name in mine:
        label, use, delete = st.columns([2, 1, 1], vertical_alignment="center")
        label.markdown(t("weights.yours", name=weights_name))
        use.button(
            t("weights.train_from"), key=f"use_weights_{weights_name}", on_click=use_weights, args=(weights_name,),
            icon=":material/school:",
        )  # fmt: skip
        delete.button(
            t("weights.delete"), key=f"delete_weights_{weights_name}", on_click=user_data.delete_weights,
            args=(owner(), weights_name), icon=":material/delete:",
        )  # fmt: skip


def use_weights(weights_name: str) -> None:
    update_config(weights=user_data.mine(weights_name), strategy="copy")
