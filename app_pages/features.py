"""Features: what the mapping does to images, and what fine-tuning changed in it."""

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image, UnidentifiedImageError

from transfer_core import views
from transfer_core.catalog import frozen_stage_count
from transfer_core.plots import (
    cka_bars,
    confusion_cells,
    drift_diagram,
    embedding_animation,
    embedding_scatter,
    overlay_heatmap,
    upscale,
)
from transfer_core.runs import RunRecord
from ui.run_picker import finished_run_ui, run_report
from ui.session import get_runner

CAM_IMAGES = 8
CELL_IMAGES = 12
SHOW_PX = 128


@st.cache_resource(max_entries=2, show_spinner="Loading the run's models…")
def run_models(run_id: str) -> views.RunModels:
    return views.load_run_models(get_runner().store, run_id)


@st.cache_data(max_entries=8, show_spinner="Projecting features…")
def embedding(run_id: str, method: str) -> pd.DataFrame:
    return views.embedding_frame(get_runner().store, run_id, run_models(run_id), method)


@st.cache_data(max_entries=8)
def embedding_over_epochs(run_id: str) -> pd.DataFrame:
    return views.embedding_animation_frame(get_runner().store, run_id, run_models(run_id))


@st.cache_data(max_entries=16, show_spinner="Computing activations…")
def activations(run_id: str, image: np.ndarray) -> dict:
    """image: uint8 (H, W, 3) at the run's image size."""
    return views.activation_maps(run_models(run_id), image)


@st.cache_data(max_entries=16, show_spinner="Computing Grad-CAM…")
def cams(run_id: str, val_indices: tuple[int, ...]) -> views.CamView:
    return views.cam_view(run_models(run_id), list(val_indices))


@st.cache_data(max_entries=8, show_spinner="Comparing representations…")
def cka(run_id: str) -> pd.DataFrame:
    return views.cka_frame(run_models(run_id))


def embedding_ui(record: RunRecord) -> None:
    st.caption("Each point is a validation image, placed by its penultimate features (what the new head reads).")
    method = st.radio(
        "Projection", ["pca", "tsne"], horizontal=True, format_func={"pca": "PCA", "tsne": "t-SNE (slower)"}.get
    )
    st.plotly_chart(embedding_scatter(embedding(record.run_id, method), record.classes), width="stretch")
    st.markdown("**Over the epochs** (press play): features recorded after every epoch, on one shared PCA.")
    st.plotly_chart(embedding_animation(embedding_over_epochs(record.run_id), record.classes), width="stretch")
    if record.config.is_linear_probe:
        st.info("A linear probe freezes every stage, so the features cannot move: only the head learned.")


def picked_image_ui(models: views.RunModels) -> tuple[np.ndarray, str]:
    """A validation image chosen by number, or the user's own photo, at the run's image size."""
    upload = st.file_uploader("Or upload an image", type=["png", "jpg", "jpeg", "webp", "bmp"], key="activation_upload")
    if upload is not None:
        try:
            with Image.open(upload) as photo:
                pixels = np.array(photo.convert("RGB"))
            return views.image_at_run_size(models, pixels), upload.name
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
            st.error(f"{upload.name} could not be read as an image; showing a validation image instead.")
    index = st.slider("Validation image", 0, len(models.data.val_y) - 1, 0)
    label = f"validation image {index}, true class: {models.classes[models.data.val_y[index]]}"
    return views.validation_image(models, index), label


def activations_ui(record: RunRecord) -> None:
    models = run_models(record.run_id)
    image, label = picked_image_ui(models)
    st.image(upscale(image, SHOW_PX * 2), caption=label)
    maps = activations(record.run_id, image)
    for which, label in (("before", models.before_label), ("after", "fine-tuned")):
        st.markdown(f"**{label.capitalize()} network: the 8 strongest channels of each stage**")
        for stage, channels in maps[which].items():
            name, grid = st.columns([1, 6], vertical_alignment="center")
            name.markdown(f"`{stage}` {channels.shape[1]}×{channels.shape[2]}")
            grid.image([upscale(c, SHOW_PX // 2) for c in channels], width=SHOW_PX // 2 + 8)
    before, after = views.filters_before_after(models)
    st.markdown("**First-layer filters**, each scaled to its own range")
    for label, filters in ((models.before_label, before), ("fine-tuned", after)):
        name, grid = st.columns([1, 6], vertical_alignment="center")
        name.markdown(label)
        grid.image([upscale(f, 32) for f in filters], width=32)


def cam_row_ui(view: views.CamView, i: int, before_label: str) -> None:
    left, middle, right = st.columns(3)
    left.image(upscale(view.images[i], SHOW_PX), caption=f"true: {view.true[i]}", width=SHOW_PX)
    middle.image(upscale(overlay_heatmap(view.images[i], view.cam_before[i]), SHOW_PX),
                 caption=f"{before_label}: {view.before_predicted[i]}", width=SHOW_PX)  # fmt: skip
    right.image(upscale(overlay_heatmap(view.images[i], view.cam_after[i]), SHOW_PX),
                caption=f"fine-tuned: {view.predicted[i]}", width=SHOW_PX)  # fmt: skip


def cam_ui(record: RunRecord) -> None:
    models = run_models(record.run_id)
    view = cams(record.run_id, tuple(range(CAM_IMAGES)))
    st.caption(
        f"Grad-CAM at stage `{view.stage}` for each network's own top class: red is where the evidence for it lies. "
        "A pretrained network answers with ImageNet classes; the fine-tuned one with yours."
    )
    for i in range(len(view.true)):
        cam_row_ui(view, i, models.before_label)


def confusion_ui(record: RunRecord) -> None:
    result = run_report(record.run_id)
    st.caption("Click a cell to see its validation images and where the fine-tuned network looked.")
    event = st.plotly_chart(
        confusion_cells(result.confusion(), result.classes), on_select="rerun", selection_mode="points", key="cells"
    )
    points = event.selection.points if event and event.selection else []
    if not points:
        return
    true, predicted = points[0]["y"], points[0]["x"]
    t, p = result.classes.index(true), result.classes.index(predicted)
    members = np.flatnonzero((result.y_true == t) & (result.y_pred == p))[:CELL_IMAGES]
    st.markdown(f"**True {true}, predicted {predicted}: {len(members)} shown**")
    if len(members):
        view = cams(record.run_id, tuple(int(i) for i in members))
        st.image([upscale(overlay_heatmap(img, cam), SHOW_PX) for img, cam in zip(view.images, view.cam_after)],
                 caption=view.predicted, width=SHOW_PX + 8)  # fmt: skip


def drift_ui(record: RunRecord) -> None:
    frame = views.drift_frame(get_runner().store.drift(record.run_id))
    stages = list(run_models(record.run_id).final.stage_names)
    st.caption("How far each stage's weights moved from where they started; frozen stages stay at zero.")
    st.plotly_chart(drift_diagram(frame, stages, frozen_stage_count(record.config)), width="stretch")


def cka_ui(record: RunRecord) -> None:
    st.plotly_chart(cka_bars(cka(record.run_id)), width="stretch")
    st.caption(
        "Linear CKA compares two sets of activations on the same images: 1 means the same geometry up to "
        "rotation and scale. It says how similar the representations are, not whether either is good."
    )


st.title("Features")
st.write(
    "A network is a mapping from images to features. Here is what that mapping looks like, before and after training."
)
record = finished_run_ui(with_feature_records=True)
if record is not None:
    tabs = st.tabs(
        ["Embedding map", "Activations", "Grad-CAM", "Confusion → images", "Weight drift", "Similarity (CKA)"]
    )
    for tab, view_ui in zip(tabs, (embedding_ui, activations_ui, cam_ui, confusion_ui, drift_ui, cka_ui)):
        with tab:
            view_ui(record)
