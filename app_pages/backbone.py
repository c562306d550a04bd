"""Backbone: choose the pretrained network, see its stages, and what it sees in photos."""

import numpy as np
import pandas as pd
import streamlit as st

from transfer_core import settings
from transfer_core.data.registry import MINE_PREFIX
from transfer_core.data.uploads import FileRefused, read_image
from transfer_core.errors import TransferLabError
from transfer_core.models.backbones import BACKBONES, build_backbone, get_spec
from transfer_core.models.costs import stage_table
from transfer_core.models.imagenet import predict_topk, sample_photos
from transfer_core.models.weights import weights_available
from transfer_core.resolve import data_for_backbone
from ui.config_state import current_config, update_config
from ui.i18n import literal, localize_frame, t, word
from ui.own_weights import download_weights_ui, own_weights_ui
from ui.sentences import sentence_neighbours_ui
from ui.teacher import locked

BACKBONE_KEY = "backbone_choice"
PHOTOS_PER_ROW = 3


@st.cache_resource(max_entries=3)
def pretrained_backbone(name: str):
    return build_backbone(name, pretrained=True)


@st.cache_data(max_entries=32)
def top5(name: str, photo_key: str, photo: np.ndarray) -> pd.DataFrame:
    predictions = predict_topk(pretrained_backbone(name), photo, get_spec(name).preprocessing)
    return pd.DataFrame([{"ImageNet class": p.label, "probability": p.probability} for p in predictions])


def backbone_choice_ui() -> str:
    # Keyed, its value set from the config before it is drawn and written back by its callback: a
    # selectbox whose `index` follows the config is a new widget after each change, and drops the next click.
    st.session_state[BACKBONE_KEY] = current_config().backbone
    st.selectbox(
        t("backbone.backbone"),
        list(BACKBONES),
        key=BACKBONE_KEY,
        format_func=lambda n: BACKBONES[n].title,
        disabled=locked("backbone"),
        on_change=choose_backbone,
    )
    return current_config().backbone


def choose_backbone() -> None:
    config, choice = current_config(), st.session_state[BACKBONE_KEY]
    changes = {"backbone": choice, "frozen_stages": -1}  # stage counts differ between backbones
    if not BACKBONES[choice].has_pretrained:
        changes |= {"weights": "random", "strategy": "scratch"}
    elif config.weights.startswith(MINE_PREFIX):  # uploaded weights fit one backbone only
        changes |= {"weights": "imagenet"}
    update_config(**changes, **data_for_backbone(config, choice))  # a word encoder gets words to read


def predictions_ui(name: str, photos: dict[str, np.ndarray]) -> None:
    if not photos:
        return
    items = list(photos.items())
    for start in range(0, len(items), PHOTOS_PER_ROW):  # rows of three: wide enough for the bars' numbers
        for column, (label, photo) in zip(st.columns(PHOTOS_PER_ROW), items[start : start + PHOTOS_PER_ROW]):
            with column:
                st.image(photo, caption=literal(label), width="stretch")
                st.dataframe(
                    localize_frame(top5(name, label, photo)),
                    hide_index=True,
                    width="stretch",
                    column_config={
                        word("probability"): st.column_config.ProgressColumn(format="%.2f", min_value=0, max_value=1)
                    },
                )


def uploaded_photo_ui() -> dict[str, np.ndarray]:
    upload = st.file_uploader(
        t("backbone.upload_photo"),
        type=["png", "jpg", "jpeg", "webp", "bmp"],
        max_upload_size=settings.current().uploads.upload_mb,
    )
    if upload is None:
        return {}
    try:
        return {f"yours: {upload.name}": read_image(upload.getvalue(), settings.current().uploads)}
    except FileRefused as err:
        st.error(t("backbone.photo_refused", name=upload.name, error=err))
        return {}


st.title(t("backbone.title"))
st.write(t("backbone.intro"))
name = backbone_choice_ui()
spec = get_spec(name)
config = current_config()

left, right = st.columns([3, 2])
with left:
    st.subheader(t("backbone.stages", title=spec.title, stages=spec.num_stages))
    st.dataframe(localize_frame(pd.DataFrame(stage_table(name, config.image_size))), hide_index=True, width="stretch")
    shapes = {
        "words": t("backbone.word_shapes"),
        "sound": t("backbone.sound_shapes"),
        "text": t("backbone.text_shapes"),
    }
    st.caption(shapes.get(spec.reads) or t("backbone.shapes", size=config.image_size))
with right:
    st.subheader(t("backbone.weights"))
    available, why = weights_available(name) if spec.has_pretrained else (False, spec.weights_source)
    st.metric(t("backbone.feature_size"), spec.feature_dim)
    if spec.reads == "images":
        st.metric(t("backbone.input_size"), f"{spec.preprocessing.input_size} px")
    if available:
        st.success(t("backbone.available", source=spec.weights_source))
    elif spec.has_pretrained:
        st.warning(literal(why))
        download_weights_ui(name)
    else:
        st.info(t("backbone.no_weights"))

st.subheader(t("backbone.sees"))
if spec.reads == "words":
    st.info(t("backbone.reads_words"))
elif spec.reads == "sound":  # it names no ImageNet class: it hears, and its own head was left behind
    st.info(t("backbone.reads_sound"))
elif spec.reads == "text" and available:  # no classes of its own: it places sentences by meaning
    sentence_neighbours_ui()
elif spec.reads == "text":
    st.info(t("backbone.reads_text"))
elif not available:
    st.info(t("backbone.needs_weights"))
else:
    try:
        predictions_ui(name, sample_photos())
        predictions_ui(name, uploaded_photo_ui())
    except TransferLabError as err:
        st.error(literal(err))

own_weights_ui(name)
