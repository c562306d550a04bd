"""Backbone: choose the pretrained network, see its stages, and what it sees in photos."""

import numpy as np
import pandas as pd
import streamlit as st

from transfer_core.backbones import BACKBONES, build_backbone, get_spec
from transfer_core.catalog import sample_photos, stage_table
from transfer_core.data import MINE_PREFIX
from transfer_core.errors import TransferLabError
from transfer_core.imagenet import predict_topk
from transfer_core.limits import upload_limits
from transfer_core.uploads import FileRefused, read_image
from transfer_core.weights import weights_available
from ui.config_state import current_config, update_config
from ui.own_weights import download_weights_ui, own_weights_ui


@st.cache_resource(max_entries=3)
def pretrained_backbone(name: str):
    return build_backbone(name, pretrained=True)


@st.cache_data(max_entries=32)
def top5(name: str, photo_key: str, photo: np.ndarray) -> pd.DataFrame:
    predictions = predict_topk(pretrained_backbone(name), photo, get_spec(name).preprocessing)
    return pd.DataFrame([{"ImageNet class": p.label, "probability": p.probability} for p in predictions])


def backbone_choice_ui() -> str:
    names = list(BACKBONES)
    config = current_config()
    choice = st.selectbox(
        "Backbone", names, index=names.index(config.backbone), format_func=lambda n: BACKBONES[n].title
    )
    if choice != config.backbone:
        changes = {"backbone": choice, "frozen_stages": -1}  # stage counts differ between backbones
        if not BACKBONES[choice].has_pretrained:
            changes |= {"weights": "random", "strategy": "scratch"}
        elif config.weights.startswith(MINE_PREFIX):  # uploaded weights fit one backbone only
            changes |= {"weights": "imagenet"}
        update_config(**changes)
    return choice


def predictions_ui(name: str, photos: dict[str, np.ndarray]) -> None:
    if not photos:
        return
    columns = st.columns(max(len(photos), 3))
    for column, (label, photo) in zip(columns, photos.items()):
        with column:
            st.image(photo, caption=label, width="stretch")
            st.dataframe(
                top5(name, label, photo),
                hide_index=True,
                column_config={"probability": st.column_config.ProgressColumn(format="%.2f", min_value=0, max_value=1)},
            )


def uploaded_photo_ui() -> dict[str, np.ndarray]:
    upload = st.file_uploader("Or upload a photo of your own", type=["png", "jpg", "jpeg", "webp", "bmp"])
    if upload is None:
        return {}
    try:
        return {f"yours: {upload.name}": read_image(upload.getvalue(), upload_limits())}
    except FileRefused as err:
        st.error(f"{upload.name} could not be used: {err}. Try a PNG or JPEG photo.")
        return {}


st.title("Backbone")
st.write("The backbone is the source network whose mapping you will re-use. Each row below is one stage.")
name = backbone_choice_ui()
spec = get_spec(name)
config = current_config()

left, right = st.columns([3, 2])
with left:
    st.subheader(f"{spec.title}: {spec.num_stages} stages")
    st.dataframe(pd.DataFrame(stage_table(name, config.image_size)), hide_index=True, width="stretch")
    st.caption(f"Output shapes for one {config.image_size} px image (the size set on the Transfer page).")
with right:
    st.subheader("Weights")
    available, why = weights_available(name) if spec.has_pretrained else (False, spec.weights_source)
    st.metric("Feature size", spec.feature_dim)
    st.metric("Native input size", f"{spec.preprocessing.input_size} px")
    if available:
        st.success(f"Pretrained weights available: {spec.weights_source}")
    elif spec.has_pretrained:
        st.warning(why)
        download_weights_ui(name)
    else:
        st.info("This backbone has no pretrained weights: use it from scratch or as a baseline.")

st.subheader("What does the pretrained network see?")
if not available:
    st.info("Predictions need pretrained weights. EfficientNet-Lite0, Lite1 and Lite2 have them offline.")
else:
    try:
        predictions_ui(name, sample_photos())
        predictions_ui(name, uploaded_photo_ui())
    except TransferLabError as err:
        st.error(str(err))

own_weights_ui(name)
