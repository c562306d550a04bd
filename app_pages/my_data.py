"""My data: bring your own images — a zip of class folders, image files per class, or webcam shots —,
words, sentences (a CSV of text,label rows), or sound (recorded from the microphone or WAV files), and keep
them as datasets every strategy can train on."""

import pandas as pd
import streamlit as st

from transfer_core import settings
from transfer_core.data import user_data
from transfer_core.data.uploads import (
    FileRefused,
    build_dataset,
    class_name_problem,
    import_files,
    import_zip,
    read_image,
)  # fmt: skip
from transfer_core.errors import TransferLabError
from transfer_core.text.upload import MAX_CHARACTERS, MAX_LABELS, MAX_ROWS, import_csv
from transfer_core.words.upload import import_word_lists
from transfer_core.words.word_lists import MAX_LETTERS
from ui.i18n import literal, localize_frame, t
from ui.own_data import (
    checked_once,
    class_uploads,
    default_name,
    import_result_ui,
    keep_ui,
    kept_notice,
    limits_caption,
    use_dataset,
)
from ui.own_sound import sound_ui
from ui.session import owner

THUMBNAILS_PER_ROW = 8


def zip_ui(limits) -> None:
    st.write(t("my_data.zip_intro"))
    upload = st.file_uploader(t("my_data.zip"), type=["zip"], max_upload_size=limits.upload_mb)
    if upload is None:
        return
    result = checked_once("zip_import", upload.file_id, lambda: import_zip(upload.getvalue(), limits))
    if isinstance(result, TransferLabError):
        st.error(t("my_data.zip_refused", name=upload.name, error=result))
        return
    import_result_ui(result)
    keep_ui(result.dataset, default_name(upload.name), "zip", limits)


def files_ui(limits) -> None:
    st.write(t("my_data.files_intro"))
    uploads = class_uploads("files", "my_data.images_n", limits, type=["png", "jpg", "jpeg", "bmp", "gif", "webp"],
                            accept_multiple_files=True)  # fmt: skip
    files = {name: [(u.name, u.getvalue()) for u in files] for name, files in uploads.items()}
    if len(files) < 2:
        st.info(t("my_data.files_hint"))
        return
    try:
        result = import_files(files, limits)
    except TransferLabError as err:
        st.error(literal(err))
        return
    import_result_ui(result)
    keep_ui(result.dataset, t("my_data.default_images"), "files", limits)


def words_ui(limits) -> None:
    """A word dataset: one text file per class, a word per line (a class is a language, say)."""
    st.write(t("my_data.words_intro", letters=MAX_LETTERS))
    uploads = class_uploads("words", "my_data.words_n", limits, type=["txt"])
    files = {name: (upload.name, upload.getvalue()) for name, upload in uploads.items()}
    if len(files) < 2:
        st.info(t("my_data.words_hint"))
        return
    try:
        for name in files:
            user_data.check_name(name, "class")
        result = import_word_lists(files, limits)
    except TransferLabError as err:
        st.error(literal(err))
        return
    import_result_ui(result)
    keep_ui(result.dataset, t("my_data.default_words"), "words", limits)


def sentences_ui(limits) -> None:
    """A text dataset: one CSV of text,label rows (reviews by mood, questions by topic...)."""
    st.write(t("my_data.sentences_intro", rows=MAX_ROWS, labels=MAX_LABELS, characters=MAX_CHARACTERS))
    upload = st.file_uploader(t("my_data.sentences_csv"), type=["csv"], key="sentences_upload",
                              max_upload_size=limits.upload_mb)  # fmt: skip
    if upload is None:
        return
    result = checked_once("csv_import", upload.file_id, lambda: import_csv(upload.name, upload.getvalue(), limits))
    if isinstance(result, TransferLabError):
        st.error(t("my_data.zip_refused", name=upload.name, error=result))
        return
    import_result_ui(result)
    keep_ui(result.dataset, default_name(upload.name), "sentences", limits)


def webcam_ui(limits) -> None:
    me = owner()
    st.write(t("my_data.webcam_intro"))
    left, right = st.columns([1, 1])
    with left:
        st.text_input(t("my_data.new_class"), key="webcam_new_class", placeholder=t("my_data.new_class_example"))
        st.button(t("my_data.add_class"), icon=":material/add:", on_click=add_class, args=(me,))
        if problem := st.session_state.pop("webcam_class_problem", None):
            st.error(literal(problem))
        shots = user_data.webcam_shots(me)
        if not shots:
            st.info(t("my_data.webcam_start"))
            return
        target = st.radio(t("my_data.shots_go_to"), list(shots), key="webcam_target", horizontal=True)
        photo = st.camera_input(t("my_data.take_shot"), key="webcam_photo")
        if photo is not None and photo.file_id != st.session_state.get("webcam_last_shot"):
            st.session_state["webcam_last_shot"] = photo.file_id
            add_shot(me, target, photo.getvalue(), limits)
    with right:
        shots_ui(me)
    shots = user_data.webcam_shots(me)
    if not sum(len(v) for v in shots.values()):
        return
    st.subheader(t("my_data.make_dataset"))
    short = {name: len(images) for name, images in shots.items() if len(images) < limits.min_per_class}
    if len(shots) - len(short) < 2:
        have = t("my_data.list_separator").join(
            t("my_data.has", name=name, shots=shots_text(n)) for name, n in short.items()
        )
        st.info(t("my_data.need_shots", min=limits.min_per_class, have=have))
        return
    result = build_dataset(shots, limits, [])  # classes still short are listed as refused
    if result.refused:
        st.caption(t("my_data.left_out", classes="; ".join(f"{r.name} {r.reason}" for r in result.refused)))
    keep_ui(result.dataset, "webcam", "webcam", limits)


def shots_text(n: int) -> str:
    return t("my_data.shot_one" if n == 1 else "my_data.shot_many", n=n)


def add_class(me: str) -> None:
    """Add the typed class and empty the box for the next one."""
    name = st.session_state.get("webcam_new_class", "").strip()
    if not name:
        return
    if problem := class_name_problem(name):
        st.session_state["webcam_class_problem"] = t("my_data.bad_class", name=name, problem=problem)
        return
    user_data.add_webcam_class(me, name)
    st.session_state["webcam_new_class"] = ""


def add_shot(me: str, class_name: str, data: bytes, limits) -> None:
    try:
        user_data.add_webcam_shot(me, class_name, read_image(data, limits), limits)
    except FileRefused as err:
        st.error(t("my_data.bad_shot", error=err))
    except TransferLabError as err:
        st.error(literal(err))


def shots_ui(me: str) -> None:
    for class_name, images in user_data.webcam_shots(me).items():
        head, remove_class = st.columns([3, 2], vertical_alignment="center")
        head.markdown(f"**{literal(class_name)}** — {shots_text(len(images))}")
        remove_class.button(
            t("my_data.remove_class"),
            key=f"drop_{class_name}",
            on_click=user_data.remove_webcam_class,
            args=(me, class_name),
            icon=":material/delete_sweep:",
        )
        columns = st.columns(THUMBNAILS_PER_ROW)
        for index, image in enumerate(images):
            with columns[index % THUMBNAILS_PER_ROW]:
                st.image(image, width=64)
                st.button(
                    "",
                    key=f"drop_{class_name}_{index}",
                    icon=":material/delete:",
                    help=t("my_data.remove_shot"),
                    on_click=user_data.remove_webcam_shot,
                    args=(me, class_name, index),
                )


def mine_ui(limits) -> None:
    me = owner()
    rows = user_data.dataset_table(me)
    if not rows:
        st.info(t("my_data.none"))
        return
    st.dataframe(localize_frame(pd.DataFrame(rows)), hide_index=True, width="stretch")
    for row in rows:
        name = row["dataset"]
        label, train, save, delete = st.columns([2, 1, 1, 1], vertical_alignment="center")
        label.markdown(f"**{literal(name)}**")
        train.button(
            t("my_data.train_on_it"), key=f"use_{name}", on_click=use_dataset, args=(name,), icon=":material/school:"
        )
        if row["kept"] == "memory (not saved)":
            save.button(
                t("my_data.save"),
                key=f"save_{name}",
                on_click=save_dataset,
                args=(me, name, limits),
                icon=":material/save:",
                help=t("my_data.save_help"),
            )
        delete.button(
            t("my_data.delete"),
            key=f"delete_{name}",
            on_click=user_data.delete_dataset,
            args=(me, name),
            icon=":material/delete:",
        )


def save_dataset(me: str, name: str, limits) -> None:
    try:
        user_data.save_dataset(me, name, limits)
    except TransferLabError as err:
        st.session_state["save_problem"] = str(err)
    else:  # named, never located: the folder's path holds the owner id
        st.session_state["saved_to"] = t("my_data.saved", name=name)


st.title(t("my_data.title"))
st.write(t("my_data.intro"))
try:
    limits = settings.current().uploads
except TransferLabError as err:
    st.error(t("weights.bad_settings", error=err))
    st.stop()
if st.session_state.pop("go_to_data", False):
    st.switch_page("app_pages/data.py")
limits_caption(limits)
kept_notice()
for key, show in (("saved_to", st.success), ("save_problem", st.error)):
    if message := st.session_state.pop(key, None):
        show(message)
tab_zip, tab_files, tab_words, tab_sentences, tab_webcam, tab_sound, tab_mine = st.tabs(
    [t(f"my_data.tabs.{n}") for n in ("zip", "files", "words", "sentences", "webcam", "sound", "mine")]
)
with tab_zip:
    zip_ui(limits)
with tab_files:
    files_ui(limits)
with tab_words:
    words_ui(limits)
with tab_sentences:
    sentences_ui(limits)
with tab_webcam:
    webcam_ui(limits)
with tab_sound:
    sound_ui(limits)
with tab_mine:
    mine_ui(limits)
