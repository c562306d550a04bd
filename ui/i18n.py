"""Every word the app shows, in the learner's language.

Each language is one TOML file in assets/i18n/ (`en.toml`, `zh.toml`, ...): a third language is a
new file, not a search through the code. Keys are dotted paths (`nav.home`, `lessons.why.title`).
The language is chosen in the sidebar and kept in the URL (`lang=zh`).

The texts are Markdown the app wrote; the values put into them are not. A value can come from a link,
an upload, a file name or a class name, so `t()` escapes it: `[log in](http://…)` or `<img>` in a
value shows as those characters, never as a link, an image or HTML.
"""

import re
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from transfer_core.messages import FIELD_PROBLEM, LIST, WORD, Said, message_of

FOLDER = Path(__file__).parents[1] / "assets" / "i18n"
DEFAULT = "en"
LANG_KEY = "lang"
PICKER_KEY = "lang_picker"


@cache
def table(language: str) -> dict[str, Any]:
    """The language's strings, flattened to dotted keys."""
    with open(FOLDER / f"{language}.toml", "rb") as f:
        return flatten(tomllib.load(f))


def flatten(tree: dict, prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            flat |= flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


@cache
def languages() -> dict[str, str]:
    """{code: the language's own name} for every file in the folder, English first."""
    codes = sorted((p.stem for p in FOLDER.glob("*.toml")), key=lambda code: (code != DEFAULT, code))
    return {code: table(code)["meta.name"] for code in codes}


def language() -> str:
    """This session's language: chosen in the sidebar, first read from the link."""
    if LANG_KEY not in st.session_state:
        asked = st.query_params.get(LANG_KEY, DEFAULT)
        st.session_state[LANG_KEY] = asked if asked in languages() else DEFAULT
    return st.session_state[LANG_KEY]


class Markdown(str):
    """Markdown the app wrote itself (a text from `t()`): put into another text as it is."""


# Every ASCII punctuation mark Markdown, Streamlit's directives (:red[…], :material/…:) or LaTeX ($)
# could read; a backslash before each shows it as itself.
MARKUP = re.compile(r"[\\`*_{}\[\]()#+\-.!|<>~$:&\"'=/@%^;?,]")
# GitHub's autolinks (www.x, http://x, a@b.c) are found in the text after escapes are read, so a
# backslash does not stop them: an invisible word joiner inside each does.
AUTOLINK = re.compile(r"(?i)(?<=www)(?=\.)|(?<=:)(?=//)|(?<=@)")
WORD_JOINER = "\u2060"


def literal(value: Any) -> Any:
    """A value to show as plain text inside Markdown: numbers and the app's own texts pass as they are,
    anything else is escaped (and kept on one line); the engine's sentences in the session's language."""
    if isinstance(value, (Markdown, int, float)):
        return value
    text = AUTOLINK.sub(WORD_JOINER, " ".join(said(value).split()))
    return MARKUP.sub(lambda m: "\\" + m.group(), text)


def _text(key: str) -> str:
    """The text for `key` in this session's language (English when a file lacks it)."""
    return table(language()).get(key, table(DEFAULT).get(key, key))


def t(key: str, **values: Any) -> Markdown:
    """The text for `key`, filled in with `values` shown as written (see `literal`)."""
    text = _text(key)
    return Markdown(text.format(**{name: literal(value) for name, value in values.items()}) if values else text)


def said(value: Any) -> str:
    """An engine sentence (`transfer_core.messages.Said`), or an exception carrying one, in the session's
    language: the [engine] table's sentence under its key, filled in with its values; English when the
    table has none. Anything else as str() writes it."""
    if isinstance(value, BaseException):
        value = message_of(value)
    if not isinstance(value, Said):
        return str(value)
    if value.key == FIELD_PROBLEM:
        return f"{field_label(value.values['field'])}: {said(value.values['message'])}"
    if value.key == WORD:
        return word(value.values["text"])
    if value.key == LIST:
        separator = table(language()).get("engine.list_separator", ", ")
        return separator.join(said(item) for item in value.values.values())
    template = table(language()).get(f"engine.{value.key}")
    if template is None:
        return str(value)
    return template.format(**{name: said(v) if isinstance(v, Said) else v for name, v in value.values.items()})


def field_label(field: str) -> str:
    """A config field as the learner knows it: the label of the widget that sets it."""
    return table(language()).get(f"fields.{field}", table(DEFAULT).get(f"fields.{field}", field))


def problem(err: Exception) -> Markdown:
    """An error as a learner reads it: a config field by its widget's label, the rest shown as written."""
    field = getattr(err, "field", None)
    if field is None:
        return Markdown(literal(err))
    return Markdown(f"{literal(field_label(field))}: {literal(getattr(err, 'message', err))}")


def setup_words(key: str, **values: Any) -> str:
    """The engine's sentences about a setup (describe.describe_config's `say`), in the session's language."""
    return t_plain(f"setup.{key}", **values)


def t_plain(key: str, **values: Any) -> str:
    """The text for `key` where Streamlit shows plain text (a selectbox's options): values unescaped."""
    return _text(key).format(**values) if values else _text(key)


def labels(prefix: str, options) -> dict:
    """{option: its text}, looked up now. Pass `labels(...).get` as a widget's format_func: Streamlit may
    call that function outside the page's run, where the session's language cannot be read."""
    return {option: t(f"{prefix}.{option}") for option in options}


def word(text: str) -> str:
    """A short phrase the engine writes in English (a table column, a chart's axis or legend), in the
    session's language when the string table has it under [words]."""
    return table(language()).get(f"words.{text}", text) if isinstance(text, str) else text


def class_names(names) -> list[str]:
    """Classes as the learner reads them: a built-in dataset's class names (Fashion-MNIST's clothes, the
    word lists' languages) in the session's language; a learner's own class names as they wrote them."""
    return [word(name) for name in names]


def with_seed(name: str, seed: int) -> str:
    """ "linear probe · seed 3": a run of an experiment repeated over seeds, as a table or legend names it."""
    return f"{name} · {t_plain('learn.col_seed')} {seed}"


MISSING = "—"  # a table cell with no value (yet): Streamlit would show the word "None"


def localize_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The table with its column names in the session's language (in English too: `train_loss` reads
    "training loss")."""
    return frame.rename(columns=word)


def localize_figure(figure: go.Figure) -> go.Figure:
    """The chart with its titles, axis titles and legend in the session's language."""
    if language() == DEFAULT:
        return figure
    figure.for_each_trace(lambda trace: trace.update(name=word(trace.name)))
    figure.for_each_xaxis(lambda axis: axis.update(title_text=word(axis.title.text)))
    figure.for_each_yaxis(lambda axis: axis.update(title_text=word(axis.title.text)))
    figure.for_each_annotation(lambda note: note.update(text=word(note.text)))
    if figure.layout.title.text:
        figure.update_layout(title_text=word(figure.layout.title.text))
    if figure.layout.legend.title.text:  # plotly express names the legend after the column: "class"
        figure.update_layout(legend_title_text=word(figure.layout.legend.title.text))
    return figure


def url_params() -> dict[str, str]:
    """What the language adds to the URL: nothing for the default."""
    return {} if language() == DEFAULT else {LANG_KEY: language()}


def language_picker() -> None:
    # The widget's own key is set from the session's language on every run (as `bind` does for config
    # widgets): a rerun that interrupts the first one would otherwise leave the browser showing the default.
    names = languages()
    st.session_state[PICKER_KEY] = language()
    st.selectbox(
        "Language / 语言", list(names), key=PICKER_KEY, format_func=names.get, label_visibility="collapsed",
        on_change=_choose_language,
    )  # fmt: skip


def _choose_language() -> None:
    st.session_state[LANG_KEY] = st.session_state[PICKER_KEY]
