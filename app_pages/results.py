"""Results: how a finished run does on its validation images, and its weights to take away."""

import numpy as np
import pandas as pd
import streamlit as st

from transfer_core import settings
from transfer_core.analysis.validation import ValidationReport, load_trained_model
from transfer_core.data.uploads import FileRefused
from transfer_core.errors import TransferLabError
from transfer_core.metrics import metrics_rows
from transfer_core.models.backbones import get_spec
from transfer_core.sound.clips import wav_bytes
from transfer_core.sound.listening import class_probabilities
from transfer_core.sound.upload import read_wav
from transfer_core.store.runs import RunRecord
from transfer_core.text.neighbours import sentence_probabilities
from ui.downloads import code_downloads
from ui.figures import confusion_heatmap, per_class_bars
from ui.i18n import MISSING, class_names, literal, localize_figure, localize_frame, t, t_plain, word
from ui.run_picker import finished_run_ui, run_report
from ui.sentences import MOST_LETTERS, tfidf_beside
from ui.session import get_runner

GRID_IMAGES = 24
WRONG_CLIPS = 8


def wrong_words_ui(report: ValidationReport, sentences: bool = False) -> None:
    """A word (or sentence) run's validation words it got wrong, the most confident mistakes first."""
    wrong = np.flatnonzero(report.y_true != report.y_pred)
    wrong = wrong[np.argsort(-report.confidence[wrong])][:GRID_IMAGES]
    classes = class_names(report.classes)
    what, truth = ("definition", "true kind") if sentences else ("word", "true language")
    rows = [{what: report.images[i], "guess": classes[report.y_pred[i]], "confidence": report.confidence[i],
             truth: classes[report.y_true[i]]} for i in wrong]  # fmt: skip
    frame = pd.DataFrame(rows, columns=[what, "guess", "confidence", truth])
    confidence = st.column_config.NumberColumn(format="%.2f")
    st.dataframe(localize_frame(frame), hide_index=True, column_config={word("confidence"): confidence})


def wrong_clips_ui(report: ValidationReport) -> None:
    """A sound run's validation clips that it got wrong, the most confident mistakes first: each one's
    spectrogram, a play button, and what the run heard."""
    wrong = np.flatnonzero(report.y_true != report.y_pred)
    wrong = wrong[np.argsort(-report.confidence[wrong])][:WRONG_CLIPS]
    if not len(wrong):
        st.success(t("results.no_wrong_clips"))
    for i in wrong:
        picture, sound = st.columns([1, 3], vertical_alignment="center")
        picture.image(report.images[i], width=96)
        classes = class_names(report.classes)
        guess, true = literal(classes[report.y_pred[i]]), literal(classes[report.y_true[i]])
        sound.markdown(t("results.wrong_clip", guess=guess, confidence=float(report.confidence[i]), true=true))
        sound.audio(wav_bytes(report.clips[i]), format="audio/wav")


@st.cache_resource(max_entries=2, show_spinner=False)
def trained_model(run_id: str):
    record = get_runner().store.load(run_id)
    return load_trained_model(record.config, len(record.classes), get_runner().store.load_weights(run_id))


def listen_ui(record: RunRecord) -> None:
    """Say a word: the finished run names it, live."""
    st.subheader(t("results.listen"))
    recording = st.audio_input(t("results.record"), key=f"listen_{record.run_id}")
    if recording is None:
        st.caption(t("results.listen_hint", classes=", ".join(literal(c) for c in class_names(record.classes))))
        return
    try:
        clip = read_wav(recording.getvalue(), settings.current().uploads)
    except FileRefused as err:
        st.error(t("results.listen_refused", reason=err))
        return
    probabilities = class_probabilities(trained_model(record.run_id), record.config.backbone,
                                        record.config.image_size, clip)  # fmt: skip
    best = int(probabilities.argmax())
    st.markdown(t("results.heard", guess=literal(class_names(record.classes)[best]), p=float(probabilities[best])))
    frame = pd.DataFrame({"class": class_names(record.classes), "probability": probabilities})
    st.bar_chart(localize_frame(frame), x=word("class"), y=word("probability"), horizontal=True)


def classify_sentence_ui(record: RunRecord) -> None:
    """Type a sentence: the finished run names its kind."""
    st.subheader(t("results.classify_sentence"))
    sentence = st.text_input(t("sentences.type"), max_chars=MOST_LETTERS, key=f"sentence_{record.run_id}")
    if not sentence.strip():
        st.caption(t("results.sentence_hint", classes=", ".join(literal(c) for c in class_names(record.classes))))
        return
    probabilities = sentence_probabilities(trained_model(record.run_id), sentence).numpy()
    best = int(probabilities.argmax())
    st.markdown(
        t("results.sentence_guess", guess=literal(class_names(record.classes)[best]), p=float(probabilities[best]))
    )
    frame = pd.DataFrame({"class": class_names(record.classes), "probability": probabilities})
    st.bar_chart(localize_frame(frame), x=word("class"), y=word("probability"), horizontal=True)


def image_grid_ui(report: ValidationReport) -> None:
    rng = np.random.default_rng(0)
    picks = rng.choice(len(report.y_true), size=min(GRID_IMAGES, len(report.y_true)), replace=False)
    captions = []
    classes = class_names(report.classes)
    for i in picks:
        true, pred = classes[report.y_true[i]], classes[report.y_pred[i]]
        mark = "✓" if true == pred else "✗"
        captions.append(t_plain("results.grid_caption", mark=mark, guess=pred, confidence=report.confidence[i],
                                true=true))  # fmt: skip
    st.image([report.images[i] for i in picks], caption=captions, width=110)


def downloads_ui(record: RunRecord) -> None:
    store = get_runner().store
    left, middle, right = st.columns(3)
    left.download_button(
        t("results.download_weights"),
        store.weights_path(record.run_id).read_bytes(),
        file_name=f"transfer-lab-{record.run_id}.safetensors",
        mime="application/octet-stream",
    )
    metrics = pd.DataFrame(metrics_rows(record.metrics))
    middle.download_button(
        t("results.download_metrics"),
        metrics.to_csv(index=False),
        file_name=f"transfer-lab-{record.run_id}.csv",
        mime="text/csv",
    )
    right.download_button(
        t("results.download_config"),
        record.config.to_json(),
        file_name=f"transfer-lab-{record.run_id}.json",
        mime="application/json",
    )
    st.caption(t("results.weights_note"))


st.title(t("results.title"))
record = finished_run_ui()
if record is not None:
    if record.trained_on:  # the machine and device, wherever the runner placed it
        st.caption(t("results.trained_on", where=record.trained_on))
    try:
        with st.spinner(t("results.evaluating")):
            report = run_report(record.run_id)
    except TransferLabError as err:
        st.error(t("results.eval_failed", error=err))
        report = None
    if report is not None:
        run_column, baseline_column = st.columns(2)
        run_column.metric(t("train.val_acc"), f"{report.accuracy:.3f}")
        if get_spec(record.config.backbone).reads == "text":  # the baseline a pretrained encoder must beat
            with st.spinner(t("sentences.tfidf_fitting")):
                baseline = tfidf_beside(record.config, record.owner)
            if baseline is not None:
                baseline_column.metric(t("sentences.tfidf_metric"), f"{baseline.val_acc:.3f}",
                                       help=t("sentences.tfidf_help"))  # fmt: skip
        left, right = st.columns([3, 2])
        with left:
            st.subheader(t("results.confusion"))
            heatmap = confusion_heatmap(report.confusion(), class_names(report.classes))
            st.plotly_chart(localize_figure(heatmap), width="stretch")
        with right:
            st.subheader(t("results.per_class"))
            per_class = report.per_class().assign(**{"class": lambda frame: class_names(frame["class"])})
            st.plotly_chart(localize_figure(per_class_bars(per_class)), width="stretch")
        if report.images.dtype.kind == "U" and get_spec(record.config.backbone).reads == "text":
            st.subheader(t("results.wrong_sentences"))
            wrong_words_ui(report, sentences=True)
            classify_sentence_ui(record)
        elif report.images.dtype.kind == "U":  # a word run
            st.subheader(t("results.wrong_words"))
            wrong_words_ui(report)
        elif report.clips is not None:  # a sound run
            st.subheader(t("results.wrong_clips"))
            wrong_clips_ui(report)
            listen_ui(record)
        else:
            st.subheader(t("results.images"))
            image_grid_ui(report)
    st.subheader(t("results.take"))
    epochs = pd.DataFrame(metrics_rows(record.metrics)).dropna(axis=1, how="all")  # no shifted copy: no column
    formats = {"train_loss": "%.3f", "train_acc": "%.3f", "val_loss": "%.3f", "val_acc": "%.3f", "shift_acc": "%.3f",
               "seconds": "%.1f", "images_per_second": "%.0f"}  # fmt: skip
    columns = {word(name): st.column_config.NumberColumn(format=f) for name, f in formats.items()}
    st.dataframe(localize_frame(epochs), hide_index=True, column_config=columns, placeholder=MISSING)
    downloads_ui(record)
    st.caption(t("export.intro"))
    code_downloads(record.config, key="export_run")
