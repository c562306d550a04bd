"""A learner reading Chinese walks the lab after a run: every text the engine writes onto the pages (class
names, sources, statuses, strategy names, sentences) is in Chinese, not English."""

import json
import re

import pytest

from tests.apptest import TINY, finish_active_run, open_app
from transfer_core.config import TrainConfig

pytestmark = pytest.mark.usefixtures("fresh_runner")

CODE = re.compile(r"`[^`]*`")  # commands and code stay as they are typed
LINK = re.compile(r"https?://\S+|\S+\.(?:py|json|csv|safetensors|txt)\b|/usr/\S+|mine:\S+|folder:\S+")
ENGLISH = re.compile(r"\b[A-Za-z][a-z]+(?: [A-Za-z][a-z]+){2,}\b")  # three or more English words in a row
# Names that stay names in Chinese (a network's, a package's) may stand next to each other.
NAMES = re.compile(r"EfficientNet-Lite\d|Fashion-MNIST|ImageNet|PyTorch|PyPI|Debian|LP-FT|CKA|GRU|CNN|t-SNE|PCA")


def english_runs(text: str) -> list[str]:
    text = NAMES.sub(" ", LINK.sub(" ", CODE.sub(" ", text.replace("\\", ""))))
    return ENGLISH.findall(text)


def shown_texts(at) -> list[str]:
    """Everything the page shows as text: Markdown, captions, alerts, table cells, image captions, charts."""
    texts = [e.value for kind in ("markdown", "caption", "info", "success", "warning", "error", "subheader", "title")
             for e in getattr(at, kind)]  # fmt: skip
    for table in at.dataframe:
        frame = table.value
        texts += [str(column) for column in frame.columns]
        texts += [str(cell) for column in frame.columns if frame[column].dtype == object for cell in frame[column]]
    texts += [caption for image in at.get("imgs") for caption in getattr(image, "captions", [])]
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        for trace in spec.get("data", []):
            texts += [str(trace.get("name") or "")]
            texts += [str(v) for axis in ("x", "y") for v in (trace.get(axis) or []) if isinstance(v, str)]
        layout = spec.get("layout", {})
        texts += [str(layout.get(axis, {}).get("title", {}).get("text") or "") for axis in ("xaxis", "yaxis")]
        texts += [str(layout.get("legend", {}).get("title", {}).get("text") or "")]
    return texts


def test_the_pages_say_the_engines_words_in_chinese_after_a_run():
    fashion = TINY.replace(dataset="fashion_mnist")
    at = open_app("app_pages/train.py", config=fashion)
    at.sidebar.selectbox[0].set_value("zh").run()
    next(b for b in at.button if b.label == "启动").click().run()
    finish_active_run(at)
    found = {}
    for page in ("data", "backbone", "transfer", "train", "results", "features", "ledger", "layers", "compare"):
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, (page, at.exception)
        runs = [run for text in shown_texts(at) for run in english_runs(text)]
        if runs:
            found[page] = runs
    assert found == {}, f"English on the Chinese pages: {found}"
    at.switch_page("app_pages/results.py").run()
    texts = " ".join(shown_texts(at))
    assert "短靴" in texts and "Ankle boot" not in texts, "Fashion-MNIST's classes in Chinese"


def test_lesson_three_reads_a_word_in_chinese_language_names():
    at = open_app()
    at.sidebar.selectbox[0].set_value("zh").run()
    at.switch_page("app_pages/home.py").run()
    from tests.apptest import open_lesson

    open_lesson(at, "features").run()
    chart = next(json.loads(c.proto.spec) for c in at.get("plotly_chart"))
    names = {trace["name"] for trace in chart["data"]}
    assert {"英语", "德语", "法语"} <= names, names
    assert chart["layout"]["legend"]["title"]["text"] == "类别"


def test_a_config_problem_from_a_link_is_said_in_chinese():
    at = open_app(config=TrainConfig(dataset="digits", train_per_class=500))
    at.sidebar.selectbox[0].set_value("zh").run()
    at.switch_page("app_pages/data.py").run()
    problems = [e.value for e in at.error] + [w.value for w in at.warning] + [i.value for i in at.info]
    assert not [run for text in problems for run in english_runs(text)], problems
