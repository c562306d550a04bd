"""Features: what the mapping does to images, and what fine-tuning changed in it."""

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image, UnidentifiedImageError

from transfer_core import settings
from transfer_core.analysis import feature_views
from transfer_core.config import MINE_PREFIX
from transfer_core.errors import TransferLabError
from transfer_core.models.backbones import get_spec
from transfer_core.models.costs import frozen_stage_count
from transfer_core.store.runs import RunRecord
from transfer_core.words.reading import read_word, reading_frame
from transfer_core.words.word_lists import MAX_LETTERS
from ui.figures import (
    cka_bars,
    confusion_cells,
    drift_diagram,
    embedding_animation,
    embedding_scatter,
    hidden_state_heatmap,
    overlay_heatmap,
    upscale,
    word_reading_chart,
)
from ui.i18n import Markdown, class_names, literal, localize_figure, t, word
from ui.run_picker import finished_run_ui, run_report
from ui.session import get_runner

CAM_IMAGES = 8
CELL_IMAGES = 12
SHOW_PX = 128
READING_EXAMPLE = "saudade"


@st.cache_resource(max_entries=2, show_spinner=False)
def run_models(run_id: str) -> feature_views.RunModels:
    return feature_views.load_run_models(get_runner().store, run_id)


@st.cache_data(max_entries=8, show_spinner=False)
def embedding(run_id: str, method: str) -> pd.DataFrame:
    return feature_views.embedding_frame(get_runner().store, run_id, run_models(run_id), method)


@st.cache_data(max_entries=8)
def embedding_over_epochs(run_id: str) -> pd.DataFrame:
    return feature_views.embedding_animation_frame(get_runner().store, run_id, run_models(run_id))


@st.cache_data(max_entries=16, show_spinner=False)
def activations(run_id: str, image: np.ndarray) -> dict:
    """image: uint8 (H, W, 3) at the run's image size."""
    return feature_views.activation_maps(run_models(run_id), image)


@st.cache_data(max_entries=16, show_spinner=False)
def cams(run_id: str, val_indices: tuple[int, ...]) -> feature_views.CamView:
    return feature_views.cam_view(run_models(run_id), list(val_indices))


@st.cache_data(max_entries=8, show_spinner=False)
def cka(run_id: str) -> pd.DataFrame:
    return feature_views.cka_frame(run_models(run_id))


def before_label(models: feature_views.RunModels) -> str:
    """What the starting network was: ImageNet's, the learner's own weights, or random."""
    if models.started_from == "mine":
        return t("features.own_weights", name=models.config.weights.removeprefix(MINE_PREFIX))
    return t("features.pretrained") if models.started_pretrained else t("features.initial")


def embedding_ui(record: RunRecord) -> None:
    st.caption(t("features.embedding_caption"))
    method = st.radio(
        t("features.projection"),
        ["pca", "tsne"],
        horizontal=True,
        format_func={"pca": "PCA", "tsne": t("features.tsne")}.get,
    )
    st.plotly_chart(
        localize_figure(embedding_scatter(embedding(record.run_id, method), record.classes, method)), width="stretch"
    )
    st.markdown(t("features.over_epochs"))
    st.plotly_chart(
        localize_figure(embedding_animation(embedding_over_epochs(record.run_id), record.classes)), width="stretch"
    )
    if record.config.is_linear_probe:
        st.info(t("features.probe_static"))


def picked_image_ui(models: feature_views.RunModels) -> tuple[np.ndarray, str]:
    """A validation image chosen by number, or the user's own photo, at the run's image size."""
    upload = st.file_uploader(t("features.upload"), type=["png", "jpg", "jpeg", "webp", "bmp"], key="activation_upload",
                              max_upload_size=settings.current().uploads.upload_mb)  # fmt: skip
    if upload is not None:
        try:
            with Image.open(upload) as photo:
                pixels = np.array(photo.convert("RGB"))
            return feature_views.image_at_run_size(models, pixels), upload.name
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
            st.error(t("features.unreadable", name=upload.name))
    index = st.slider(t("features.val_image"), 0, len(models.data.val_y) - 1, 0)
    label = t("features.val_image_label", index=index, name=class_names(models.classes)[models.data.val_y[index]])
    return feature_views.validation_image(models, index), label


def activations_ui(record: RunRecord) -> None:
    models = run_models(record.run_id)
    image, label = picked_image_ui(models)
    st.image(upscale(image, SHOW_PX * 2), caption=label)
    maps = activations(record.run_id, image)
    for which, label in (("before", before_label(models)), ("after", t("features.fine_tuned"))):
        st.markdown(t("features.channels", network=label))
        for stage, channels in maps[which].items():
            name, grid = st.columns([1, 6], vertical_alignment="center")
            name.markdown(f"`{stage}` {channels.shape[1]}×{channels.shape[2]}")
            grid.image([upscale(c, SHOW_PX // 2) for c in channels], width=SHOW_PX // 2 + 8)
    before, after = feature_views.filters_before_after(models)
    st.markdown(t("features.filters"))
    for label, filters in ((before_label(models), before), (t("features.fine_tuned"), after)):
        name, grid = st.columns([1, 6], vertical_alignment="center")
        name.markdown(label)
        grid.image([upscale(f, 32) for f in filters], width=32)


def cam_row_ui(view: feature_views.CamView, i: int, before_label: str) -> None:
    left, middle, right = st.columns(3)
    left.image(upscale(view.images[i], SHOW_PX), caption=t("features.true", name=word(view.true[i])), width=SHOW_PX)
    middle.image(upscale(overlay_heatmap(view.images[i], view.cam_before[i]), SHOW_PX),
                 caption=f"{before_label}: {literal(view.before_predicted[i])}", width=SHOW_PX)  # fmt: skip
    right.image(upscale(overlay_heatmap(view.images[i], view.cam_after[i]), SHOW_PX),
                caption=f"{t('features.fine_tuned')}: {literal(word(view.predicted[i]))}", width=SHOW_PX)  # fmt: skip


def cam_ui(record: RunRecord) -> None:
    models = run_models(record.run_id)
    view = cams(record.run_id, tuple(range(min(CAM_IMAGES, len(models.data.val_y)))))  # own data can be small
    st.caption(t("features.cam_caption", stage=Markdown(view.stage)))  # the registry's name
    if models.hears or models.data.val_clips is not None:  # the pictures are spectrograms
        st.caption(t("features.sound_cam_caption"))
    before = before_label(models)
    if models.hears and models.config.backbone != "speech_cnn":  # its new head had not trained: no answers yet
        before = t("features.untrained_head")
    for i in range(len(view.true)):
        cam_row_ui(view, i, before)


def confusion_ui(record: RunRecord) -> None:
    result = run_report(record.run_id)
    st.caption(t("features.cells_caption"))
    event = st.plotly_chart(
        localize_figure(confusion_cells(result.confusion(), class_names(result.classes))),
        on_select="rerun",
        selection_mode="points",
        key="cells",
    )
    points = event.selection.points if event and event.selection else []
    if not points:
        return
    true, predicted = points[0]["y"], points[0]["x"]
    names = class_names(result.classes)
    true_index, predicted_index = names.index(true), names.index(predicted)
    members = np.flatnonzero((result.y_true == true_index) & (result.y_pred == predicted_index))[:CELL_IMAGES]
    st.markdown(t("features.cell", true=true, predicted=predicted, count=len(members)))
    if len(members):
        view = cams(record.run_id, tuple(int(i) for i in members))
        st.image([upscale(overlay_heatmap(img, cam), SHOW_PX) for img, cam in zip(view.images, view.cam_after)],
                 caption=[literal(p) for p in class_names(view.predicted)], width=SHOW_PX + 8)  # fmt: skip


def drift_ui(record: RunRecord) -> None:
    frame = feature_views.drift_frame(get_runner().store.drift(record.run_id))
    stages = list(run_models(record.run_id).final.stage_names)
    st.caption(t("features.drift_caption"))
    st.plotly_chart(localize_figure(drift_diagram(frame, stages, frozen_stage_count(record.config))), width="stretch")


def reading_ui(record: RunRecord) -> None:
    """Type a word: the prediction after each letter, and the state h_t the network carries along."""
    models = run_models(record.run_id)
    typed = st.text_input(t("features.type_word"), value=READING_EXAMPLE, max_chars=MAX_LETTERS, key="typed_word")
    letters = "".join(letter for letter in typed.lower() if letter.isalpha())
    if not letters:
        st.info(t("features.type_word_hint"))
        return
    reading = read_word(models.final, letters)
    guess = class_names(models.classes)[int(reading.probabilities[-1].argmax())]
    st.markdown(t("features.reading_guess", word=letters, guess=guess, p=float(reading.probabilities[-1].max())))
    st.plotly_chart(localize_figure(word_reading_chart(reading_frame(reading, models.classes))), width="stretch")
    st.caption(t("features.reading_caption"))
    st.plotly_chart(localize_figure(hidden_state_heatmap(reading.states, reading.letters)), width="stretch")
    st.caption(t("features.states_caption"))


def cka_ui(record: RunRecord) -> None:
    st.plotly_chart(localize_figure(cka_bars(cka(record.run_id))), width="stretch")
    st.caption(t("features.cka_caption"))


st.title(t("features.title"))
st.write(t("features.intro"))
record = finished_run_ui(with_feature_records=True)
if record is not None:
    try:
        run_models(record.run_id)
    except TransferLabError as err:  # its data changed since it trained, or is gone
        st.error(literal(err))
        st.stop()
    reads = get_spec(record.config.backbone).reads
    if reads == "words":
        views = {"reading": reading_ui, "embedding": embedding_ui, "drift": drift_ui}
    elif reads == "text":  # sentences: where they lie before and after, how each layer moved
        views = {"embedding": embedding_ui, "drift": drift_ui, "cka": cka_ui}
    elif reads == "sound":  # no single picture to feed in: the clips' spectrograms carry the Grad-CAM
        views = {"embedding": embedding_ui, "cam": cam_ui, "confusion": confusion_ui, "drift": drift_ui, "cka": cka_ui}
    else:
        views = {"embedding": embedding_ui, "activations": activations_ui, "cam": cam_ui, "confusion": confusion_ui,
                 "drift": drift_ui, "cka": cka_ui}  # fmt: skip
    for tab, view_ui in zip(st.tabs([t(f"features.tabs.{name}") for name in views]), views.values()):
        with tab:
            view_ui(record)
