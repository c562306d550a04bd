"""Pieces the My data page shares between its ways of bringing images, words and sound in."""

from collections.abc import Callable
from typing import TypeVar

import numpy as np
import pandas as pd
import streamlit as st

from transfer_core.data import user_data
from transfer_core.data.preparation import fitting_sizes
from transfer_core.data.uploads import ImportResult
from transfer_core.errors import TransferLabError
from transfer_core.resolve import settings_for_data
from transfer_core.settings import UploadLimits

from .config_state import current_config, update_config
from .i18n import literal, localize_frame, t
from .session import owner

T = TypeVar("T")
CLASS_SLOTS = 6


def limits_caption(limits: UploadLimits) -> None:
    used = user_data.storage_used(owner()) / 1e6
    st.caption(
        t(
            "my_data.limits", upload=limits.upload_mb, members=limits.members, unpacked=limits.unpacked_mb,
            pixels=limits.pixels, min=limits.min_per_class, used=used, session=limits.session_mb,
        )
    )  # fmt: skip


def import_result_ui(result: ImportResult) -> None:
    """What was accepted, and every refused file with its reason."""
    if result.refused:
        st.warning(literal(result.summary()) + " " + t("my_data.skipped"))
        refused = pd.DataFrame([{"file": r.name, "reason": r.reason} for r in result.refused])
        st.dataframe(localize_frame(refused), hide_index=True, width="stretch")
    else:
        st.success(literal(result.summary()))
    st.dataframe(
        localize_frame(pd.DataFrame({"class": list(result.counts), f"{result.unit}s": list(result.counts.values())})),
        hide_index=True,
    )


def keep_ui(dataset, default_name: str, key: str, limits: UploadLimits) -> None:
    """A name, and a button that keeps the dataset in this session under it."""
    name = st.text_input(t("my_data.name"), value=default_name, key=f"{key}_name", max_chars=40)
    if st.button(t("my_data.keep"), key=f"{key}_keep", type="primary", icon=":material/add_circle:"):
        try:
            user_data.keep_dataset(owner(), name, dataset, limits)
        except TransferLabError as err:
            st.error(literal(err))
        else:
            st.session_state["kept_dataset"] = name
            st.rerun()


def kept_notice() -> None:
    """After a rerun, say which dataset was just kept and offer to train on it."""
    name = st.session_state.pop("kept_dataset", None)
    if name:
        st.success(t("my_data.kept", name=name))
        st.button(
            t("my_data.train_on", name=name),
            key="train_on_kept",
            on_click=use_dataset,
            args=(name,),
            icon=":material/school:",
        )


def use_dataset(name: str) -> None:
    """Make the config train on one of this session's datasets, with per-class sizes that fit it."""
    dataset = user_data.mine(name)
    fitting = settings_for_data(current_config(), dataset, owner())  # own words need a word encoder
    update_config(dataset=dataset, class_subset="", **sizes_for_own(name), **fitting)
    st.session_state["go_to_data"] = True


def sizes_for_own(name: str) -> dict[str, int]:
    """Per-class sizes that fit one of this session's datasets: its smallest class decides."""
    return fitting_sizes(int(np.bincount(user_data.load_dataset(owner(), name).labels).min()))


def default_name(file_name: str) -> str:
    """A dataset name from an upload's file name: its stem, with anything but plain characters dropped."""
    stem = file_name.rsplit(".", 1)[0]
    cleaned = "".join(c if c.isalnum() or c in " -_" else "_" for c in stem).strip(" _-")[:40]
    return cleaned or "my data"


def checked_once(slot: str, key, check: Callable[[], T]) -> T | TransferLabError:
    """`check()` for one upload, run once rather than on every rerun: kept in session state under `slot`
    with the upload's `key`. An expected failure is kept and returned as its error."""
    kept = st.session_state.get(slot)
    if kept is None or kept[0] != key:
        try:
            kept = (key, check())
        except TransferLabError as err:
            kept = (key, err)
        st.session_state[slot] = kept
    return kept[1]


def class_uploads(key: str, label_key: str, limits, **uploader) -> dict:
    """A number of classes, then per class a name and a file uploader: {name: what was uploaded} for the
    classes that have both. `uploader` is what differs between image and word files."""
    classes = st.number_input(t("my_data.classes"), 2, CLASS_SLOTS, 2, key=f"{key}_classes")
    uploads = {}
    for slot in range(int(classes)):
        left, right = st.columns([1, 3])
        name = left.text_input(t("my_data.class_n", n=slot + 1), key=f"{key}_name_{slot}")
        upload = right.file_uploader(t(label_key, n=slot + 1), key=f"{key}_upload_{slot}",
                                     max_upload_size=limits.upload_mb, **uploader)  # fmt: skip
        if name and upload:
            uploads[name] = upload
    return uploads
