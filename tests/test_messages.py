"""The engine's sentences: each said in English by the engine and in Chinese by the pages, keeping its key
across processes and the run store."""

import ast
import pickle
import re
from pathlib import Path

import pytest

from transfer_core import messages
from transfer_core.errors import ConfigError, DatasetUnavailable
from transfer_core.messages import Said, join_said, message_of, say, say_word
from ui.i18n import table

ROOT = Path(__file__).parents[1]
PLACEHOLDER = re.compile(r"\{(\w+)")


def engine_sentences() -> dict[str, set[str]]:
    """{key: the English templates said under it} for every say("key", ...) in transfer_core."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / "transfer_core").rglob("*.py"):
        tree = ast.parse(path.read_text())
        assigned = strings_assigned(tree)
        for call in ast.walk(tree):
            if not (isinstance(call, ast.Call) and getattr(call.func, "id", getattr(call.func, "attr", None)) == "say"):
                continue
            keys, english = templates(call.args[0], assigned, call.lineno, path), call.args[1]
            for key in keys:
                found.setdefault(key, set()).update(templates(english, assigned, call.lineno, path))
    return found


def strings_assigned(tree: ast.AST) -> list[tuple[int, str, str]]:
    """(line, name, text) of every `name = "text"` in the module, for templates held in a variable."""
    return [(node.lineno, node.targets[0].id, node.value.value) for node in ast.walk(tree)
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)]  # fmt: skip


def templates(node: ast.AST, assigned, line: int, path: Path) -> set[str]:
    if isinstance(node, ast.Constant):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return templates(node.body, assigned, line, path) | templates(node.orelse, assigned, line, path)
    if isinstance(node, ast.Name):
        before = [(at, text) for at, name, text in assigned if name == node.id and (at <= line or name.isupper())]
        assert before, f"{path}:{line}: {node.id} holds no string before it is said"
        return {max(before)[1]}
    raise AssertionError(f"{path}:{line}: a template the tests can read (a string, or a name holding one)")


def test_every_engine_sentence_has_a_chinese_one_with_no_placeholder_it_lacks():
    chinese = table("zh")
    sentences = engine_sentences()
    assert len(sentences) > 150, "the engine's sentences are said with keys"
    for key, english in sentences.items():
        if key == messages.FIELD_PROBLEM:  # the page names the field by its widget's label, then says the problem
            continue
        assert f"engine.{key}" in chinese, f"no Chinese for {key}: {english}"
        available = set.intersection(*(set(PLACEHOLDER.findall(text)) for text in english))
        assert set(PLACEHOLDER.findall(chinese[f"engine.{key}"])) <= available, key
    stale = {key for key in chinese if key.startswith("engine.")} - {f"engine.{key}" for key in sentences}
    assert stale <= {"engine.list_separator"}, f"Chinese for sentences the engine no longer says: {stale}"


def test_a_sentence_is_english_text_that_keeps_its_key_through_pickle_and_the_run_store(tmp_path):
    said = say("runner.queue_full", "{waiting} runs are already waiting", waiting=3)
    assert said == "3 runs are already waiting" and isinstance(said, str)
    copied = pickle.loads(pickle.dumps(said))  # a worker process's pipe, Ray's object store
    assert isinstance(copied, Said) and (copied.key, copied.values) == ("runner.queue_full", {"waiting": 3})
    nested = say("shared.rejected", "{folder}: {problem}", folder="'x'", problem=said)
    stored = messages.from_json(str(nested), messages.to_json(nested))
    assert stored == nested and stored.values["problem"].key == "runner.queue_full"
    assert messages.from_json("plain words", None) == "plain words"


def test_a_config_problem_keeps_its_field_and_a_failed_run_records_the_sentence_with_its_key():
    with pytest.raises(ConfigError) as caught:
        from transfer_core.config import TrainConfig

        TrainConfig(epochs=0)
    recorded = message_of(caught.value)
    assert recorded.key == messages.FIELD_PROBLEM and recorded.values["field"] == "epochs"
    assert str(recorded).startswith("epochs: must be between")
    assert message_of(DatasetUnavailable(say("data.bundled", "bundled"))).key == "data.bundled"
    assert message_of(RuntimeError("boom")) == "boom"


def test_pages_say_the_engines_sentences_in_the_learners_language(monkeypatch):
    from transfer_core.data.uploads import count
    from ui import i18n

    problem = say("upload.too_few", "only {count}; each class needs at least {least}", count=count(3, "image"), least=5)
    refused = join_said([say_word("English"), say_word("Swedish")])
    monkeypatch.setattr(i18n, "language", lambda: "zh")
    assert i18n.said(refused) == "英语、瑞典语"
    assert i18n.said(problem) == "只有 3 张图片；每个类别至少需要 5"
    err = ConfigError("epochs", say("config.between", "must be between {low:g} and {high:g}{where}, got {value}.",
                                    low=1, high=50, where="", value="0"))  # fmt: skip
    assert i18n.said(err) == f"{i18n.field_label('epochs')}: 必须在 1 到 50 之间，收到的是 0。"
    assert i18n.field_label("epochs") != "epochs"
    monkeypatch.setattr(i18n, "language", lambda: "en")
    assert i18n.said(refused) == "English, Swedish"
