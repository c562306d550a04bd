"""My data's sound tab: record words per class from the microphone, or bring WAV files (a zip of class
folders, or files per class), and keep them as a dataset.

Recordings wait in this browser session (at most MAX_RECORDINGS clips, 32 kB each) until they are kept
as a dataset, which then counts against the session's storage like any other."""

import streamlit as st

from transfer_core.data.uploads import FileRefused, build_dataset, class_name_problem, import_files, import_zip
from transfer_core.errors import TransferLabError
from transfer_core.sound.clips import wav_bytes
from transfer_core.sound.upload import CLIPS, read_wav

from .i18n import literal, t
from .own_data import checked_once, class_uploads, default_name, import_result_ui, keep_ui

RECORDINGS = "sound_recordings"  # session state: {class name: [int16 clips]}
MAX_RECORDINGS = 120
CLIPS_PER_ROW = 4


def sound_ui(limits) -> None:
    st.write(t("my_data.sound_intro"))
    record, wav_zip, wav_files = st.tabs([t("my_data.sound_tabs.record"), t("my_data.sound_tabs.zip"),
                                          t("my_data.sound_tabs.files")])  # fmt: skip
    with record:
        record_ui(limits)
    with wav_zip:
        wav_zip_ui(limits)
    with wav_files:
        wav_files_ui(limits)


def recordings() -> dict[str, list]:
    return st.session_state.setdefault(RECORDINGS, {})


def record_ui(limits) -> None:
    st.write(t("my_data.record_intro"))
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    left.text_input(t("my_data.new_word"), key="sound_new_class", placeholder=t("my_data.new_word_example"))
    right.button(t("my_data.add_word"), icon=":material/add:", on_click=add_word_class, key="sound_add_class")
    if problem := st.session_state.pop("sound_class_problem", None):
        st.error(literal(problem))
    held = recordings()
    if not held:
        st.info(t("my_data.record_start"))
        return
    target = st.radio(t("my_data.clips_go_to"), list(held), key="sound_target", horizontal=True)
    take = st.session_state.setdefault("sound_take", 0)  # a new key empties the recorder for the next word
    recording = st.audio_input(t("my_data.record_word", name=target), key=f"sound_take_{take}")
    if recording is not None:
        add_recording(target, recording.getvalue(), limits)
        st.session_state["sound_take"] = take + 1
        st.rerun()
    if message := st.session_state.pop("sound_refused", None):
        st.error(message)
    recordings_ui()
    make_dataset_ui(limits)


def add_word_class() -> None:
    name = st.session_state.get("sound_new_class", "").strip()
    if not name:
        return
    if problem := class_name_problem(name):
        st.session_state["sound_class_problem"] = t("my_data.bad_class", name=name, problem=problem)
        return
    recordings().setdefault(name, [])
    st.session_state["sound_new_class"] = ""


def add_recording(class_name: str, data: bytes, limits) -> None:
    held = recordings()
    if sum(len(clips) for clips in held.values()) >= MAX_RECORDINGS:
        st.session_state["sound_refused"] = t("my_data.recordings_full", n=MAX_RECORDINGS)
        return
    try:
        held.setdefault(class_name, []).append(read_wav(data, limits))
    except FileRefused as err:
        st.session_state["sound_refused"] = t("my_data.bad_recording", error=err)


def recordings_ui() -> None:
    for class_name, clips in recordings().items():
        head, drop = st.columns([3, 2], vertical_alignment="center")
        head.markdown(t("my_data.class_clips", name=literal(class_name), n=len(clips)))
        drop.button(t("my_data.remove_class"), key=f"drop_sound_{class_name}", icon=":material/delete_sweep:",
                    on_click=lambda name=class_name: recordings().pop(name, None))  # fmt: skip
        columns = st.columns(CLIPS_PER_ROW)
        for index, clip in enumerate(clips):
            with columns[index % CLIPS_PER_ROW]:
                st.audio(wav_bytes(clip), format="audio/wav")
                st.button("", key=f"drop_sound_{class_name}_{index}", icon=":material/delete:",
                          help=t("my_data.remove_clip"), on_click=lambda c=clips, i=index: c.pop(i))  # fmt: skip


def make_dataset_ui(limits) -> None:
    held = recordings()
    if sum(len(clips) >= limits.min_per_class for clips in held.values()) < 2:
        st.info(t("my_data.need_clips", min=limits.min_per_class))
        return
    st.subheader(t("my_data.make_clips_dataset"))
    result = build_dataset({name: list(clips) for name, clips in held.items()}, limits, [], CLIPS)
    if result.refused:
        st.caption(t("my_data.left_out", classes="; ".join(f"{r.name} {r.reason}" for r in result.refused)))
    keep_ui(result.dataset, t("my_data.default_voice"), "recorded", limits)


def wav_zip_ui(limits) -> None:
    st.write(t("my_data.wav_zip_intro"))
    upload = st.file_uploader(t("my_data.zip"), type=["zip"], max_upload_size=limits.upload_mb, key="wav_zip")
    if upload is None:
        return
    result = checked_once("wav_zip_import", upload.file_id, lambda: import_zip(upload.getvalue(), limits, CLIPS))
    if isinstance(result, TransferLabError):
        st.error(t("my_data.zip_refused", name=upload.name, error=result))
        return
    import_result_ui(result)
    keep_ui(result.dataset, default_name(upload.name), "wav_zip", limits)


def wav_files_ui(limits) -> None:
    st.write(t("my_data.wav_files_intro"))
    uploads = class_uploads("wav_files", "my_data.clips_n", limits, type=["wav"], accept_multiple_files=True)
    files = {name: [(u.name, u.getvalue()) for u in files] for name, files in uploads.items()}
    if len(files) < 2:
        st.info(t("my_data.files_hint"))
        return
    try:
        result = import_files(files, limits, CLIPS)
    except TransferLabError as err:
        st.error(literal(err))
        return
    import_result_ui(result)
    keep_ui(result.dataset, t("my_data.default_clips"), "wav_files", limits)
