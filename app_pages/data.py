"""Data: choose the target dataset and its size; see samples per class and what is available."""

import numpy as np
import pandas as pd
import streamlit as st
import torch

from transfer_core.analysis.validation import samples_as_shown
from transfer_core.config import RANGES
from transfer_core.data import user_data
from transfer_core.data.downloads import dataset_files
from transfer_core.data.preparation import fitting_sizes, prepare_data
from transfer_core.data.registry import DATASETS, FOLDER_PREFIX, MINE_PREFIX, load_shared
from transfer_core.errors import TransferLabError
from transfer_core.models.weights import downloads_allowed
from transfer_core.resolve import available, class_count, dataset_reads, prepared_data, settings_for_data
from transfer_core.runners.memory_budget import check_budget
from transfer_core.sound.clips import wav_bytes
from transfer_core.sound.spectrogram import spectrogram_images
from transfer_core.sound.speech import SPEECH_SETS
from ui.config_state import current_config, update_config
from ui.describe import dataset_rows, dataset_words
from ui.downloads import download_button_ui
from ui.figures import class_counts_bars
from ui.i18n import class_names, literal, localize_figure, localize_frame, problem, setup_words, t, t_plain
from ui.own_data import sizes_for_own
from ui.session import owner
from ui.teacher import locked
from ui.widgets import bind

SAMPLES_PER_CLASS = 8
CLIPS_PER_CLASS = 4  # each with a play button
DATASET_KEY = "dataset_choice"
FOLDER = "folder"  # the option that asks for a server folder's path


def prepared(config) -> tuple:
    """The run's training images as arrays, from the cache for shared datasets. A session's own
    dataset is not cached: it can change, and the cache is shared by every session."""
    if config.dataset.startswith((MINE_PREFIX, FOLDER_PREFIX)):  # read as this session, within its limits
        # (a sound dataset as clips: the page draws their spectrograms and plays them)
        return arrays(prepared_data(config.replace(backbone="speech_cnn"), owner()) if _is_sound(config)
                      else prepared_data(config, owner()))  # fmt: skip
    check_budget(config, class_count(config, owner()))  # before anything loads: a link can ask for 47 GB
    args = (config.dataset, config.train_per_class, config.val_per_class, config.image_size, config.seed,
            config.class_indices)  # fmt: skip
    return prepared_shared(*args)


def _is_sound(config) -> bool:
    return _reads(config) == "sound"


def _reads(config) -> str:
    try:
        return dataset_reads(config.dataset, owner())
    except TransferLabError:
        return "images"  # the page says why the dataset cannot be read


@st.cache_data(max_entries=8, show_spinner=False)
def prepared_shared(dataset: str, train_per_class: int, val_per_class: int, image_size: int, seed: int, classes):
    raw = load_shared(dataset)
    return arrays(prepare_data(raw, train_per_class, val_per_class, image_size, seed, classes, hears=True))


def arrays(data) -> tuple:
    """Images as (N, H, W, 3) arrays, a word dataset's words or a text dataset's sentences as strings, or a
    sound dataset's spectrograms; and for sound the clips themselves (else None)."""
    clips = None
    if data.train_x.dtype == torch.int16:  # clips: shown as the pictures an image backbone sees
        clips = data.train_x.numpy()
        samples = spectrogram_images(data.train_x).numpy()
    else:  # as Results shows them; sentences as written
        samples = np.array(data.train_texts) if data.train_texts else samples_as_shown(data.train_x)
    return samples, data.train_y.numpy(), data.val_y.numpy(), data.classes, clips


def dataset_choice_ui() -> str:
    config = current_config()
    mine = [MINE_PREFIX + name for name in user_data.dataset_names(owner())]
    options = [*DATASETS, *mine, FOLDER]
    current = FOLDER if config.dataset.startswith(FOLDER_PREFIX) else config.dataset
    if current not in options:  # a link to another session's dataset, or one since deleted
        options.insert(0, current)
    labels = {**{n: dataset_words(n, setup_words) for n in DATASETS}, FOLDER: t("data.folder")}
    labels |= {n: t_plain("data.mine", name=n.removeprefix(MINE_PREFIX)) for n in mine}  # plain text in a selectbox
    # Keyed and set from the config before it is drawn (a selectbox whose `index` follows the config is a
    # new widget after each change, and drops the next click); "A folder…" stays chosen until a path is typed.
    if st.session_state.get(DATASET_KEY) != FOLDER or current == FOLDER:
        st.session_state[DATASET_KEY] = current
    choice = st.selectbox(t("data.dataset"), options, key=DATASET_KEY, disabled=locked("dataset"),
                          format_func=lambda n: labels.get(n, n), on_change=choose_dataset)  # fmt: skip
    if choice != FOLDER:
        return config.dataset
    default = config.dataset.removeprefix(FOLDER_PREFIX) if current == FOLDER else ""
    path = st.text_input(t("data.folder_path"), value=default, placeholder="/path/to/my_images")
    if not path:
        st.info(t("data.folder_hint"))
        return config.dataset
    if FOLDER_PREFIX + path != config.dataset:
        update_config(dataset=FOLDER_PREFIX + path)
    return FOLDER_PREFIX + path


def choose_dataset() -> None:
    """A new dataset, with per-class sizes that fit it and all its classes."""
    choice = st.session_state[DATASET_KEY]
    if choice == FOLDER:  # chosen once a path is typed
        return
    if choice in DATASETS:
        sizes = fitting_sizes(DATASETS[choice].smallest_class)
    else:
        sizes = sizes_for_own(choice.removeprefix(MINE_PREFIX))
    update_config(dataset=choice, class_subset="", **sizes, **settings_for_data(current_config(), choice, owner()))


def download_ui(dataset: str) -> None:
    """For a public dataset that is not here yet: a button that downloads it with a progress bar."""
    if dataset not in DATASETS or not downloads_allowed():
        return
    download_button_ui(t("data.download", name=DATASETS[dataset].title), lambda: dataset_files(dataset))


def size_ui(unit: str) -> None:
    left, right = st.columns(2)
    with left:
        bind(
            st.number_input,
            t("data.train_per_class", unit=unit),
            "train_per_class",
            *RANGES["train_per_class"].on_page,
            step=10,
            decode=int,
        )
    with right:
        bind(
            st.number_input,
            t("data.val_per_class", unit=unit),
            "val_per_class",
            *RANGES["val_per_class"].on_page,
            step=10,
            decode=int,
        )


def clips_ui(pictures: np.ndarray, clips: np.ndarray, labels: np.ndarray, classes: list[str]) -> None:
    """Per class, a few clips: each one's spectrogram and a play button."""
    st.caption(t("data.spectrogram_caption"))
    for label, name in enumerate(class_names(classes)):
        members = np.flatnonzero(labels == label)[:CLIPS_PER_CLASS]
        st.markdown(f"**{literal(name)}**")
        for column, i in zip(st.columns(CLIPS_PER_CLASS), members):
            column.image(pictures[i], width=96)
            column.audio(wav_bytes(clips[i]), format="audio/wav")


def samples_ui(samples: np.ndarray, labels: np.ndarray, classes: list[str]) -> None:
    for label, name in enumerate(class_names(classes)):
        members = np.flatnonzero(labels == label)[:SAMPLES_PER_CLASS]
        name_column, samples_column = st.columns([1, 5], vertical_alignment="center")
        name_column.markdown(f"**{literal(name)}**")
        if samples.dtype.kind == "U" and any(" " in samples[i] for i in members):  # sentences: one a line
            samples_column.markdown("\n".join(f"- {literal(samples[i])}" for i in members))
        elif samples.dtype.kind == "U":  # words
            samples_column.markdown(literal(" · ".join(samples[i] for i in members)))
        else:
            samples_column.image([samples[i] for i in members], width=64)


st.title(t("data.title"))
st.write(t("data.intro"))
dataset = dataset_choice_ui()
st.caption(t("data.own"))
available_now, why = available(dataset, owner())
if not available_now:
    st.error(literal(why))
    download_ui(dataset)
    st.info(t("data.way_out"))
else:
    st.caption(t("data.source", why=why))
    unit = t(f"data.unit.{_reads(current_config())}")  # images, words, clips or sentences
    size_ui(unit)
    config = current_config()
    try:
        with st.spinner(t("data.loading")):
            images, train_y, val_y, classes, clips = prepared(config)
    except TransferLabError as err:
        st.error(problem(err))
    else:
        counts = pd.DataFrame(
            {"class": class_names(classes), "train": np.bincount(train_y, minlength=len(classes)),
             "validation": np.bincount(val_y, minlength=len(classes))}
        )  # fmt: skip
        st.subheader(t("data.summary", classes=len(classes), train=len(train_y), val=len(val_y), unit=unit))
        st.plotly_chart(localize_figure(class_counts_bars(counts)), width="stretch")
        st.subheader(t("data.samples"))
        if config.dataset in SPEECH_SETS:  # what synthetic speech can and cannot teach
            st.info(t("data.synthetic_speech", about=t(f"data.speech_about.{config.dataset}")))
        if clips is not None:
            clips_ui(images, clips, train_y, classes)
        else:
            samples_ui(images, train_y, classes)

st.subheader(t("data.offline"))
st.dataframe(localize_frame(pd.DataFrame(dataset_rows(setup_words))), hide_index=True, width="stretch")
