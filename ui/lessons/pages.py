"""The Learn section: one page per lesson, an st.Page over `lesson_page(key)` at /learn_<key>. Each page
is the shared frame (text, try it, predict then run) around what that lesson shows of its own."""

import inspect

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st
import torch

from transfer_core.analysis import feature_views
from transfer_core.config import TrainConfig
from transfer_core.errors import TransferLabError
from transfer_core.lessons import export, worked_project
from transfer_core.lessons import figures as lesson_figures
from transfer_core.lessons.pitfalls import PitfallResult, batchnorm_pitfall
from transfer_core.lessons.questions import CLOSE, LESSONS, SCRATCH, Lesson, get_lesson
from transfer_core.models.backbones import get_spec
from transfer_core.models.costs import parameter_budget
from transfer_core.models.imagenet import sample_photos
from transfer_core.words.reading import read_word, reading_frame, source_reader
from transfer_core.words.word_lists import MAX_LETTERS

from ..describe import dataset_words
from ..downloads import code_downloads
from ..figures import hidden_state_heatmap, model_choice_figure, spread_curves, stage_diagram, word_reading_chart
from ..i18n import labels, literal, localize_figure, setup_words, t, t_plain
from .experiment import draw_own_seeds
from .frame import lesson_text, predict_then_run, side_by_side_ui, start_runs, try_it_button, when_finished
from .measured import judged, locked_predictions, predict_again, predicted_then_measured
from .prepare import prepare_ui
from .sentences import crossing_ui, examples_ui

MAPPING_FORMULA = r"f(x) = f_{c}^{1} \circ \ldots \circ f_{c}^{n}(x)"
RNN_FORMULA = r"h_{t} = \sigma(W_{hh} h_{t-1} + W_{xh} x_{t} + b_{h})"
RNN_EXAMPLE = "transfer"


@st.cache_data(max_entries=2, show_spinner=False)
def stage_pictures(photo_name: str) -> dict[str, np.ndarray]:
    return feature_views.stage_pictures("efficientnet_lite0", sample_photos()[photo_name])


def committed(lesson: Lesson) -> bool:
    """Whether the learner has locked in a prediction for the lesson: what its question asks about is
    shown only then."""
    return lesson.key in st.session_state.get("lesson_predictions", {})


def mapping_extra(lesson: Lesson) -> None:
    st.latex(MAPPING_FORMULA)
    st.caption(t("learn.formula_caption"))
    st.subheader(t("learn.stages_title"))
    photos = sample_photos()
    name = st.radio("photo", list(photos), horizontal=True, label_visibility="collapsed", key="mapping_photo")
    try:
        pictures = stage_pictures(name)
    except TransferLabError:
        st.info(t("learn.stages_unavailable"))
        return
    st.image(photos[name], width=128)
    for stage, maps in pictures.items():
        label, images = st.columns([1, 6], vertical_alignment="center")
        label.markdown(f"`{stage}`")
        images.image(list(maps), width=72, clamp=True)
    st.caption(t("learn.stages_caption"))


def features_extra(lesson: Lesson) -> None:
    """The recurrence, and the lab's trained word GRU reading a word the learner types, letter by letter."""
    st.latex(RNN_FORMULA)
    st.subheader(t("learn.rnn_title"))
    st.caption(t("learn.rnn_source"))
    typed = st.text_input(t("features.type_word"), value=RNN_EXAMPLE, max_chars=MAX_LETTERS, key="rnn_word")
    letters = "".join(letter for letter in typed.lower() if letter.isalpha())
    if not letters:
        st.info(t("features.type_word_hint"))
        return
    try:
        model, classes = source_reader()
    except TransferLabError as err:
        st.info(literal(err))
        return
    reading = read_word(model, letters)
    st.plotly_chart(localize_figure(word_reading_chart(reading_frame(reading, classes))), width="stretch")
    st.caption(t("learn.rnn_reading"))
    st.plotly_chart(localize_figure(hidden_state_heatmap(reading.states, reading.letters)), width="stretch")
    st.caption(t("features.states_caption"))


def methods_extra(lesson: Lesson) -> None:
    copy_column, fusion_column = st.columns(2)
    for column, strategy, title in (
        (copy_column, "copy", "learn.diagram_copy"),
        (fusion_column, "fusion", "learn.diagram_fusion"),
    ):
        per_stage, after = parameter_budget("efficientnet_lite0", strategy, "concat", 10)
        stages = list(get_spec("efficientnet_lite0").stage_names)
        head = t("transfer.head_fusion") if strategy == "fusion" else t("transfer.head_new")
        column.caption(t(title))
        column.plotly_chart(stage_diagram(stages, list(per_stage), len(stages), head, after), key=f"diagram_{strategy}")
    presets_ui(lesson)


def presets_ui(lesson: Lesson) -> None:
    columns = st.columns(len(lesson.extra_presets))
    for column, (name, config) in zip(columns, lesson.extra_presets.items()):
        with column:
            label = (
                t(f"lessons.{lesson.key}.options.{name}")
                if name in lesson.options
                else t(f"lessons.{lesson.key}.preset_{name}")
            )
            try_it_button(config, t("learn.open_preset", name=label), key=f"preset_{lesson.key}_{name}")


def project_extra(lesson: Lesson) -> None:
    setting = worked_project.setting()
    st.subheader(t("learn.project_article"))
    st.code(worked_project.ARTICLE_CODE, language="python")
    st.subheader(t("learn.project_bug1"))
    st.markdown(t("lessons.project.bug1"))
    st.code(inspect.getsource(worked_project.buggy_feature_extractor), language="python")
    if committed(lesson):  # what the line raises is the question's answer
        st.code(worked_project.run_bug_1(setting.backbone), language="text", wrap_lines=True)
    else:
        st.caption(t("learn.after_prediction"))
    st.subheader(t("learn.project_bug2"))
    st.markdown(t("lessons.project.bug2"))
    shape, message = worked_project.run_bug_2(setting.backbone)
    st.markdown(t("learn.project_bug2_shape", shape=shape))
    st.code(inspect.getsource(worked_project.check_scores), language="python")
    st.code(message, language="text", wrap_lines=True)
    st.subheader(t("learn.project_fix"))
    st.markdown(t("lessons.project.fix_diff"))
    article, fixed = st.columns(2)
    article.caption(t("learn.project_article"))
    article.code(worked_project.ARTICLE_CODE, language="python")
    fixed.caption(t("learn.project_fixed"))
    fixed.code(worked_project.MINIMAL_FIX, language="python")
    st.code(worked_project.changed_lines(), language="diff")
    st.markdown(t("lessons.project.fix"))
    config = worked_project.corrected_config(setting)
    st.code(export.script(config), language="python", height=480)
    code_downloads(config, key="export_project")
    if setting.substituted:
        st.info(t("learn.project_substituted", **setup_names(setting.backbone, setting.dataset)))
    run_fix_ui(config)


def setup_names(backbone: str, dataset: str) -> dict:
    """A backbone and a dataset as a learner names them, in the session's language (not their ids)."""
    return {"backbone": get_spec(backbone).title, "dataset": dataset_words(dataset, setup_words)}


def run_fix_ui(config: TrainConfig) -> None:
    """The corrected code, run by the lab's runner (the same computation: tests/test_export.py checks it)."""
    runs = st.session_state.setdefault("project_fix_runs", {})
    if not runs:
        if st.button(t("learn.project_run_fix"), key="run_fix"):
            runs |= start_runs({"fix": config})
            st.rerun()
        return

    def result(current: dict) -> None:
        run = current.get("fix")
        if run is None or run.status != "done" or run.summary is None:
            st.error(t("learn.failed", error=run.message if run else "—"))
            return
        acc = run.summary.final_val_acc
        st.success(t("learn.project_accuracy", acc=acc, **setup_names(config.backbone, config.dataset)))

    when_finished(runs, result)


def project_answer() -> str:
    """Run the article's line: the exception it raises is the measured answer."""
    outcome = worked_project.run_bug_1(worked_project.setting().backbone)
    return "typeerror" if outcome.startswith("TypeError") else "indexerror" if "IndexError" in outcome else "works"


def challenges_extra(lesson: Lesson) -> None:
    """Model choice, measured: predict whether the better ImageNet model transfers better, see the lab's
    measurement; then the two backbones of the presets trained on the same task, side by side."""
    model_choice_ui()
    presets_ui(lesson)
    runs = st.session_state.setdefault("model_choice_runs", {})
    if not runs:
        if st.button(t("learn.compare_backbones"), key="compare_backbones"):
            names = {t(f"lessons.{lesson.key}.preset_{name}"): config for name, config in lesson.extra_presets.items()}
            runs |= start_runs(names)
            st.rerun()
        return
    side_by_side_ui(runs)


def model_choice_ui() -> None:
    """Predict, then see: each source's ImageNet top-1 against its probe's accuracy here, every seed."""
    from transfer_core.lessons import model_choice

    st.subheader(t("learn.choice_title"))
    st.markdown(t("learn.choice_question"))
    options = labels("learn.choice_options", model_choice.OPTIONS)
    kept = locked_predictions("choice", {"answer": t("learn.your_prediction")}, options)
    if kept is None:
        return
    st.markdown(t("learn.locked", answer=options[kept["answer"]]))
    measured = model_choice.load()
    if measured is None:
        st.caption(t("learn.choice_missing"))
        return
    accuracy = measured["accuracy"]
    points = [{"source": get_spec(name).title, "top1": model_choice.SOURCES[name].top1, "seed": seed, "val_acc": acc}
              for name, seeds in accuracy.items() for seed, acc in seeds.items()]  # fmt: skip
    st.plotly_chart(localize_figure(model_choice_figure(pd.DataFrame(points))), key="choice_figure", width="stretch")
    verdict, r = model_choice.decide(accuracy), model_choice.correlation(accuracy)
    if verdict == CLOSE:
        st.markdown(t("learn.measured_close", seeds=len({p["seed"] for p in points})))
    else:
        judged(kept["answer"], verdict, t("learn.measured", answer=options[verdict]))
    st.caption(t(f"learn.choice_explain_{verdict}", r=r if r is not None else float("nan"), date=measured["measured"]))
    predict_again("choice")


BATCHNORM_FIX = """\
def train(self, mode=True):
    super().train(mode)
    for stage in self.stages[: self.frozen]:
        stage.eval()  # frozen stages keep their BatchNorm statistics
    return self"""


@st.cache_data(show_spinner=False)
def measured_pitfall() -> tuple[PitfallResult, PitfallResult]:
    """The pitfall and its fix, measured once per server (the same numbers for everyone)."""
    return batchnorm_pitfall(keep_eval=False), batchnorm_pitfall(keep_eval=True)


def key_result_ui(name: str, lesson: Lesson | None = None) -> None:
    """One of the field's key results as the lab measured it (bench/lesson_figures.py): each seed's
    point, the mean, and the band from the lowest seed to the highest; with `lesson`, the learner's own
    seeds of its experiment drawn on top where the figure has their setup."""
    figures = lesson_figures.load()
    if figures is None:
        st.caption(t("learn.figures_missing"))
        return
    points = figures[name].copy()
    points["series"] = points["series"].map(lambda series: t_plain(f"learn.series_{series}"))
    chart = spread_curves(points, t_plain(f"learn.figure_x_{name}"), log_x=name == "images_per_class")
    if lesson is not None and name == "images_per_class":
        draw_own_seeds(chart, lesson, set(figures[name]["series"]))
    st.plotly_chart(localize_figure(chart), key=f"figure_{name}", width="stretch")
    setup = figures["setup"]
    sizes = {"epochs": setup["epochs"], "val": setup["val_per_class"], "per_class": setup["frozen_train_per_class"]}
    st.caption(t(f"learn.figure_caption_{name}", **setup_names(setup["backbone"], setup["dataset"]), **sizes))
    if name == "images_per_class":
        raw = figures[name]
        measured = set(raw["series"])
        for first, second in (pair for pair in (("probe", "scratch"), ("probe", "finetune")) if set(pair) <= measured):
            at = lesson_figures.crossover(raw, first, second)
            words = {"first": t_plain(f"learn.series_{first}"), "second": t_plain(f"learn.series_{second}")}
            st.markdown(t("learn.crossover", at=at, **words) if at else t("learn.no_crossover", **words))


def answer_figures_ui(lesson: Lesson) -> None:
    """The measured figures that hold a lesson's answer: drawn only once the learner has committed."""
    names = ANSWER_FIGURES.get(lesson.key, ())
    if not names and lesson.key not in ANSWER_VIEWS:
        return
    if not committed(lesson):
        st.caption(t("learn.figures_after_prediction"))
        return
    if lesson.key in ANSWER_VIEWS:
        ANSWER_VIEWS[lesson.key](lesson)
    for name in names:
        st.subheader(t(f"learn.figure_title_{name}"))
        key_result_ui(name, lesson)
    if lesson.key == "why":
        playground_ui()


@st.cache_resource(show_spinner=False)
def playground_features():
    """The probe's features of the lesson's images, once per server."""
    from transfer_core.lessons.playground import probe_features

    return probe_features()


def playground_ui() -> None:
    """Images per class -> the probe's accuracy, refitted on the spot, over the measured scratch curve."""
    from transfer_core.lessons.playground import MOST_PER_CLASS, fit_probe

    st.subheader(t("learn.playground_title"))
    try:
        with st.spinner(t("learn.playground_computing")):
            features = playground_features()
    except TransferLabError as err:
        st.info(literal(err))
        return
    per_class = st.slider(t("learn.playground_slider"), 1, MOST_PER_CLASS, 10, key="playground_per_class")
    fit = fit_probe(features, per_class)
    figures = lesson_figures.load()
    scratch = figures["images_per_class"] if figures else None
    st.plotly_chart(localize_figure(playground_figure(scratch, fit)), key="playground_chart", width="stretch")
    st.markdown(t("learn.playground_result", per_class=per_class, acc=fit.val_acc, seconds=fit.seconds,
                  trained=features.trainable))  # fmt: skip
    st.caption(t("learn.playground_caption", seconds=features.seconds))


def playground_figure(points: pd.DataFrame | None, fit) -> go.Figure:
    scratch = points[points["series"] == "scratch"].copy() if points is not None else pd.DataFrame()
    scratch["series"] = t_plain("learn.series_scratch")
    chart = spread_curves(scratch, t_plain("learn.figure_x_images_per_class"), log_x=True) if len(scratch) else None
    chart = chart or go.Figure()
    chart.add_trace(go.Scatter(x=[fit.per_class], y=[fit.val_acc], mode="markers+text", text=[f"{fit.val_acc:.2f}"],
                               textposition="top center", name=t_plain("learn.playground_point"),
                               marker={"symbol": "diamond", "size": 15}))  # fmt: skip
    return chart.update_layout(yaxis={"range": [0, 1.02]})


def finetune_extra(lesson: Lesson) -> None:
    """The BatchNorm pitfall, measured; the figures that answer the question follow the prediction."""
    st.subheader(t("learn.bn_title"))
    st.markdown(t("learn.bn_intro"))
    st.code(BATCHNORM_FIX, language="python")
    if not st.session_state.get("bn_shown") and not st.button(t("learn.bn_run"), key="bn_run"):
        return
    st.session_state["bn_shown"] = True
    try:
        with st.spinner(t("learn.bn_running")):
            pitfall, fixed = measured_pitfall()
    except TransferLabError as err:
        st.info(literal(err))
        return
    rows = [
        {t("learn.bn_col_how"): t(f"learn.bn_{name}"), t("learn.bn_col_weights"): t("learn.bn_no"),
         t("learn.bn_col_stats"): f"{r.statistics_moved:.1%}", t("learn.bn_col_features"): f"{r.features_moved:.1%}"}
        for name, r in (("pitfall", pitfall), ("fixed", fixed))
    ]  # fmt: skip
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    st.caption(t("learn.bn_caption", moved=pitfall.features_moved))


def uses_extra(lesson: Lesson) -> None:
    """Text and speech, among the uses: lesson 3 transfers the lab's word GRU to languages it never saw,
    lesson 10 asks which source carries over to spoken words."""
    st.page_link(lesson_link("features"), label=t("learn.text_in_the_lab"), icon=":material/translate:")
    st.page_link(lesson_link("crossmodal"), label=t("learn.sound_in_the_lab"), icon=":material/graphic_eq:")
    multitask_ui()
    negative_transfer_ui()


MEASURED_OPTIONS = ("helps", "hurts", CLOSE)  # what a second task or a source did: the multi-task and negative labs


def multitask_ui() -> None:
    """The multi-task lab: predict what a related and a conflicting second task do to the main task, then
    see what the lab measured, seed for seed."""
    from transfer_core.lessons import multitask

    st.subheader(t("learn.multitask_title"))
    st.markdown(t("learn.multitask_intro"))
    options = labels("learn.multitask_options", MEASURED_OPTIONS)
    questions = {kind: t(f"learn.multitask_{kind}") for kind in ("related", "conflicting")}
    if (answered := predicted_then_measured("multitask", questions, options, multitask.load,
                                            "learn.multitask_missing")) is None:  # fmt: skip
        return
    kept, measured = answered
    accuracy = measured["accuracy"]
    rows = [{t("learn.multitask_col_second"): t(f"learn.multitask_kind_{kind}"), t("learn.col_seed"): seed,
             t("learn.col_val"): acc} for kind, seeds in accuracy.items() for seed, acc in seeds.items()]  # fmt: skip
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    for kind in questions:
        difference, half = multitask.effect(accuracy, kind)
        verdict = multitask.verdict(accuracy, kind)
        said = t("learn.multitask_verdict", kind=t(f"learn.multitask_kind_{kind}"), answer=options[verdict],
                 difference=difference, half=half, seeds=len(accuracy[kind]))  # fmt: skip
        judged(kept[kind], verdict, said)
    st.caption(t("learn.multitask_explain", date=measured["measured"]))
    predict_again("multitask")


def negative_transfer_ui() -> None:
    """Transfer that hurts: predict what a source trained on random labels does to the target, probed and
    fine-tuned, against random weights; then see what the lab measured, seed for seed."""
    from transfer_core.lessons import negative_transfer as negative

    st.subheader(t("learn.negative_title"))
    st.markdown(t("learn.negative_intro"))
    options = labels("learn.negative_options", MEASURED_OPTIONS)
    questions = {mode: t(f"learn.negative_{mode}") for mode in ("probe", "fine_tune")}
    if (answered := predicted_then_measured("negative", questions, options, negative.load,
                                            "learn.negative_missing")) is None:  # fmt: skip
        return
    kept, measured = answered
    accuracy, seconds = measured["accuracy"], measured["seconds"]
    rows = [{t("learn.negative_col_source"): t(f"learn.negative_source_{run.split()[0]}"),
             t("learn.negative_col_how"): t(f"learn.negative_how_{run.split()[1].replace('-', '_')}"),
             t("learn.col_seed"): seed, t("learn.col_val"): acc, t("learn.col_seconds"): round(seconds[run], 1)}
            for run, seeds in accuracy.items() for seed, acc in seeds.items()]  # fmt: skip
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    for mode, run_mode in (("probe", "probe"), ("fine_tune", "fine-tune")):
        difference, half = negative.effect(accuracy, "noise", run_mode)
        verdict = negative.verdict(accuracy, "noise", run_mode)
        said = t("learn.negative_verdict", how=t(f"learn.negative_{mode}"), answer=options[verdict],
                 difference=difference, half=half, seeds=len(accuracy[f"noise {run_mode}"]))  # fmt: skip
        judged(kept[mode], verdict, said)
    true_probe, true_half = negative.effect(accuracy, "true", "probe")
    st.caption(t("learn.negative_explain", date=measured["measured"], gain=true_probe, half=true_half))
    predict_again("negative")


@st.cache_data(max_entries=1, show_spinner=False)
def spoken_examples(dataset: str, per_word: int = 3) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The first clip of `per_word` words of a speech set, and their spectrogram pictures."""
    from transfer_core.data.registry import load_shared
    from transfer_core.sound.spectrogram import spectrogram_images

    raw = load_shared(dataset)
    first = [int(np.flatnonzero(raw.labels == label)[0]) for label in range(per_word)]
    clips = raw.images[first]
    return [raw.classes[label] for label in range(per_word)], clips, spectrogram_images(torch.from_numpy(clips)).numpy()


def crossmodal_extra(lesson: Lesson) -> None:
    """What the question is about, heard and seen: a few target clips and the pictures ImageNet's CNN reads."""
    from transfer_core.sound.clips import wav_bytes

    st.markdown(t("lessons.crossmodal.listen"))
    try:
        words, clips, pictures = spoken_examples(lesson.preset.dataset)
    except TransferLabError as err:
        st.info(literal(err))
        return
    for column, word, clip, picture in zip(st.columns(len(words)), words, clips, pictures):
        column.image(picture, caption=word, width=128)
        column.audio(wav_bytes(clip), format="audio/wav")
    presets_ui(lesson)


EXTRAS = {
    "mapping": mapping_extra,
    "features": features_extra,
    "methods": methods_extra,
    "project": project_extra,
    "uses": uses_extra,
    "finetune": finetune_extra,
    "challenges": challenges_extra,
    "crossmodal": crossmodal_extra,
    "sentences": examples_ui,
}


# The measured figures that answer a lesson's question (lesson 1: the probe against scratch at 50 images per
# class; lesson 5: the probe against the fine-tune at 10, and how much to freeze; lesson 9: at 10): shown
# after the prediction.
ANSWER_FIGURES = {
    "why": ("images_per_class",),
    "finetune": ("images_per_class", "frozen_stages"),
    "qa": ("images_per_class",),
}

# Lesson 11 draws its own: where TF-IDF from scratch meets the probe on MiniLM as labelled definitions grow.
ANSWER_VIEWS = {"sentences": crossing_ui}

LOCAL_ANSWERS = {
    "project": project_answer,
}


# Where a lab page answers the lesson's question another way: lesson 2 and 5 in the layer lab (which stages
# matter, measured by what each one changes), lesson 5 and 8 in Compare (the strategies raced side by side).
PAGE_LINKS = {
    "mapping": ("layers",),
    "finetune": ("layers", "compare"),
    "challenges": ("compare",),
}
PAGE_FILES = {
    "layers": ("app_pages/layers.py", ":material/layers:"),
    "compare": ("app_pages/compare.py", ":material/leaderboard:"),
}


def page_links_ui(key: str) -> None:
    for page in PAGE_LINKS.get(key, ()):
        path, icon = PAGE_FILES[page]
        st.page_link(path, label=t(f"lessons.{key}.link_{page}"), icon=icon)


def lesson_page(key: str) -> None:
    lesson = get_lesson(key)
    lesson_text(lesson)
    page_links_ui(key)
    if key in EXTRAS:
        EXTRAS[key](lesson)
    if uses_image_baseline(lesson):  # say what "from scratch" is, so that "transfer wins" is no strawman
        st.caption(t("learn.baseline"))
    try_it_button(lesson.preset, t("learn.try_it"), key=f"try_{key}")
    predict_then_run(lesson, LOCAL_ANSWERS.get(key))
    answer_figures_ui(lesson)
    experiment_code_ui(lesson)
    prepare_ui(lesson)


def experiment_code_ui(lesson: Lesson) -> None:
    """Each of the experiment's runs (its first seed) as plain code to take home."""
    if lesson.experiment is None:
        return
    with st.expander(t("export.title"), icon=":material/code:"):
        st.caption(t("export.lesson_intro"))
        for label, config in lesson.experiment.runs.items():
            st.markdown(f"**{t(f'lessons.{lesson.key}.options.{label}') if label in lesson.options else label}**")
            code_downloads(config, key=f"export_{lesson.key}_{label}")


def uses_image_baseline(lesson: Lesson) -> bool:
    runs = lesson.experiment.runs.values() if lesson.experiment else ()
    return any(config.strategy == "scratch" and config.backbone == SCRATCH.backbone for config in runs)


def lesson_link(key: str) -> st.Page:
    """The lesson's page, for the navigation and for links to it (st.page_link, st.switch_page)."""

    def show() -> None:
        lesson_page(key)

    show.__name__ = f"learn_{key}"
    return st.Page(show, title=t(f"lessons.{key}.title"), icon=":material/school:", url_path=f"learn_{key}")


def pages() -> list[st.Page]:
    """One st.Page per lesson, in order."""
    return [lesson_link(lesson.key) for lesson in LESSONS]
