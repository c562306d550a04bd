"""Lesson 11: predict whether a probe on a transformer others pretrained beats TF-IDF from scratch at ten
definitions per kind; the shipped answer at once, TF-IDF measured beside every seed of the probe, the
learner's own seeds streaming in, where the lines cross as data grows; in English and in Chinese."""

import json

import pytest

from tests.apptest import finish_active_run, open_app, open_lesson
from tests.test_chinese_pages import english_runs, shown_texts
from tests.test_lessons import lesson_app, lock_in
from tests.waiting import wait_until_all_finished
from transfer_core.lessons import figures
from transfer_core.lessons.questions import SEED_MARK, RunResult, decide, get_lesson, with_companions

pytestmark = pytest.mark.usefixtures("fresh_runner")
LESSON = get_lesson("sentences")


PROBE = {f"probe{SEED_MARK}{seed}": RunResult(acc, None, {}) for seed, acc in ((0, 0.81), (1, 0.83), (2, 0.82))}


def test_a_companion_already_measured_is_read_not_measured_again_and_decides_beside_the_probe():
    kept = {f"tfidf{SEED_MARK}{seed}": RunResult(acc, None, {}) for seed, acc in ((0, 0.5), (1, 0.55), (2, 0.52))}
    assert with_companions(LESSON, PROBE | kept) == PROBE | kept, "nothing fitted: the shipped file holds them"
    assert decide(LESSON, PROBE | kept) == "probe"
    losing = {name: RunResult(0.2, None, {}) for name in PROBE}
    assert decide(LESSON, losing | kept) == "tfidf"
    close = {name: RunResult(r.val_acc + (0.05 if "0" in name else -0.05), None, {}) for name, r in kept.items()}
    assert decide(LESSON, {n: RunResult(0.53, None, {}) for n in PROBE} | close) == "close"


def test_the_shipped_answer_shows_probe_and_tfidf_per_seed_at_once_and_the_crossing_after_the_prediction():
    at = lesson_app("sentences")
    assert not at.exception, at.exception
    assert any("**animal**:" in m.value for m in at.markdown), "the definitions, seen before predicting"
    assert not at.get("plotly_chart"), "no measured picture before the prediction"
    lock_in(at, "sentences", "tfidf")
    assert not at.exception, at.exception
    table = at.dataframe[-1].value
    assert list(table["seed"]) == [0, 0, 1, 1, 2, 2]
    assert list(table["run"][:2]) == ["The linear probe on MiniLM", "TF-IDF from scratch"]
    assert any("Measured: **The linear probe on MiniLM**" in m.value for m in at.markdown)
    assert any("Not this time" in i.value for i in at.info)
    assert not at.get("plotly_chart"), "the crossing is a second prediction: no picture before it"
    at.radio(key="crossing_at").set_value("by_50").run()
    next(b for b in at.button if b.key == "lock_crossing").click().run()
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert {"The linear probe on MiniLM", "TF-IDF from scratch"} <= {trace.get("name") for trace in chart["data"]}
    assert chart["layout"]["xaxis"]["title"]["text"] == "labelled definitions per kind"
    measured = figures.load_sentences()["definitions_per_kind"]
    crossing = figures.crossover(measured, "probe", "tfidf")
    said = "reaches the probe's at" if crossing else "stays below the probe's across the whole range"
    judged = [alert.value for alert in [*at.success, *at.info] if said in alert.value]
    assert judged and judged[0].endswith("You were right." if crossing and crossing <= 50 else "for.")


@pytest.mark.slow  # a probe of MiniLM encoding 880 definitions, and a TF-IDF fit beside it
def test_the_learners_own_seed_streams_in_with_tfidf_fitted_beside_it_on_the_same_split(monkeypatch):
    from transfer_core.text.baseline import baseline_for
    from ui.lessons import experiment
    from ui.session import get_runner

    monkeypatch.setattr(experiment, "SEEDS", (0,))  # one new seed of the learner's (three by default)
    at = lock_in(lesson_app("sentences"), "sentences", "probe")
    next(b for b in at.button if b.key == "run_sentences").click().run()
    runs = at.session_state["lesson_runs"]["sentences"]
    assert list(runs) == [f"probe{SEED_MARK}3"], "a seed neither the reference nor this tab has run"
    wait_until_all_finished(get_runner(), runs.values(), timeout=600)
    at.run()
    assert not at.exception, at.exception
    table = at.dataframe[-1].value
    assert list(table["seed"]) == [seed for seed in range(4) for _ in range(2)]
    mine = table[table["measured"] == "now, by you"].set_index("run")["val acc"]
    assert sorted(mine.index) == ["TF-IDF from scratch", "The linear probe on MiniLM"]
    assert mine["TF-IDF from scratch"] == pytest.approx(baseline_for(LESSON.preset.replace(seed=3)).val_acc)
    assert mine["The linear probe on MiniLM"] > mine["TF-IDF from scratch"]
    at.radio(key="crossing_at").set_value("not_by_200").run()
    next(b for b in at.button if b.key == "lock_crossing").click().run()
    chart = json.loads(at.get("plotly_chart")[-1].proto.spec)
    stars = {trace["name"]: trace for trace in chart["data"] if trace.get("name", "").endswith("your seeds")}
    assert set(stars) == {"The linear probe on MiniLM: your seeds", "TF-IDF from scratch: your seeds"}
    assert all(trace["x"] == [10] for trace in stars.values()), "TF-IDF at the probe's definitions per kind"
    assert stars["TF-IDF from scratch: your seeds"]["y"] == [mine["TF-IDF from scratch"]]


@pytest.mark.slow  # a sentence run, and the Backbone page's neighbourhood encoded
def test_the_chinese_sentence_pages_say_the_encoder_reads_english_and_nothing_else_in_english():
    from transfer_core.config import TrainConfig
    from transfer_core.text.definitions import definitions_by_kind

    written = sorted({text for texts in definitions_by_kind().values() for text in texts}, key=len, reverse=True)

    config = TrainConfig(backbone="minilm_l6", dataset="definitions", train_per_class=5, val_per_class=5, epochs=2)
    at = open_app(config=config)
    at.sidebar.selectbox[0].set_value("zh").run()
    open_lesson(at, "sentences").run()
    assert not at.exception, at.exception
    texts = " ".join(shown_texts(at))
    assert "这个编码器读的是英语" in texts
    found = {}
    pages = [("lesson", None), ("data", "app_pages/data.py"), ("backbone", "app_pages/backbone.py"),
             ("my_data", "app_pages/my_data.py"), ("train", "app_pages/train.py"), ("results", "app_pages/results.py"),
             ("features", "app_pages/features.py")]  # fmt: skip
    for name, page in pages:
        if page:
            at.switch_page(page).run()
        if name == "train":  # a sentence run, so that Results and Features have one to show
            next(b for b in at.button if b.label == "启动").click().run()
            finish_active_run(at, 300)
        assert not at.exception, (name, at.exception)
        runs = [run for text in shown_texts(at) for run in english_runs(strip_data(text, written))]
        if runs:
            found[name] = runs
    assert found == {}, f"English on the Chinese pages: {found}"
    at.switch_page("app_pages/results.py").run()
    assert [m.label for m in at.metric] == ["验证准确率", "从零开始的 TF-IDF，同样的句子"]


def strip_data(text: str, written: list[str]) -> str:
    """The text without the definitions it shows (English on purpose: the encoder reads English)."""
    text = text.replace("\\", "")
    for definition in written:
        if definition in text:
            text = text.replace(definition, " ")
    return text
