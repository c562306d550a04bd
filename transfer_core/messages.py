"""Sentences the engine says to a learner, in English, each with a key and the values put into it, so that
a page can say the same sentence in the learner's language (the [engine] table of assets/i18n/<lang>.toml)
while the command line, the logs and the tests read the English.

    raise DatasetUnavailable(say("fashion_missing", "Fashion-MNIST is not on this machine: {advice}", advice=...))

A `Said` is a str: everything that handled the English sentence still does. It keeps its key and values
across a pipe to a worker process, Ray's object store, and the run store's JSON (`to_json`, `from_json`).
"""

from typing import Any


class Said(str):
    """An English sentence with the key and values a translation is looked up and filled in by."""

    key: str
    values: dict[str, Any]

    def __reduce__(self):
        return _rebuild, (str(self), self.key, self.values)


def say(key: str, english: str, **values: Any) -> Said:
    """The sentence `english` filled in with `values`, remembered under `key`."""
    return _rebuild(english.format(**values), key, values)


def _rebuild(text: str, key: str, values: dict[str, Any]) -> Said:
    said = str.__new__(Said, text)
    said.key, said.values = key, values
    return said


FIELD_PROBLEM = "field_problem"  # "{field}: {message}": a page names the field by its widget's label


LIST = "list"  # items joined as the language joins a list: ", " in English, "、" in Chinese


def join_said(items: list) -> Said:
    """Several sentences or words as one list, each said in the learner's language."""
    return _rebuild(", ".join(str(item) for item in items), LIST, {f"item{i}": item for i, item in enumerate(items)})


WORD = "word"  # a short phrase a page looks up in its [words] table: a language's or a class's name


def say_word(text: str) -> Said:
    """A name or short phrase (English, a class name) that a page says from its [words] table."""
    return _rebuild(text, WORD, {"text": text})


KINDS = {
    "images": say("kind.images", "images"),
    "words": say("kind.words", "words"),
    "sound": say("kind.sound", "sound"),
    "text": say("kind.text", "sentences"),
}


def say_kind(kind: str) -> str:
    """What a dataset holds or a network reads (images, words, sound), as a word a page can translate."""
    return KINDS.get(kind, kind)


STATUSES = {
    "queued": say("status.queued", "queued"),
    "running": say("status.running", "running"),
    "done": say("status.done", "done"),
    "failed": say("status.failed", "failed"),
    "cancelled": say("status.cancelled", "cancelled"),
    "interrupted": say("status.interrupted", "interrupted"),
}


def say_status(status: str) -> str:
    """A run's status as a word a page can translate."""
    return STATUSES.get(status, status)


def cancelled_in(epoch: int, batch: int) -> Said:
    """Where a run was stopped: before a batch of an epoch (1-based)."""
    return say("runner.cancelled_in", "cancelled in epoch {epoch} before batch {batch}", epoch=epoch, batch=batch)


def message_of(err: BaseException) -> str:
    """An exception's sentence, as said (a Said keeps its key): what a failed run records."""
    field, message = getattr(err, "field", None), getattr(err, "message", None)
    if isinstance(field, str) and isinstance(message, str):  # a ConfigError
        return say(FIELD_PROBLEM, "{field}: {message}", field=field, message=message)
    first = err.args[0] if len(err.args) == 1 else None
    return first if isinstance(first, Said) else str(err)


def to_json(text: str) -> dict | None:
    """What the run store keeps beside a message so that it can be said again in another language."""
    if not isinstance(text, Said):
        return None
    return {"key": text.key, "values": {name: _plain(value) for name, value in text.values.items()}}


def from_json(text: str, kept: Any) -> str:
    """The message as stored, a Said again when its key and values were kept with it."""
    if not isinstance(kept, dict) or not isinstance(kept.get("key"), str) or not isinstance(kept.get("values"), dict):
        return text
    values = {name: from_json(value["text"], value) if isinstance(value, dict) and "text" in value else value
              for name, value in kept["values"].items()}  # fmt: skip
    return _rebuild(text, kept["key"], values)


def _plain(value: Any) -> Any:
    """A value as JSON keeps it: a nested Said with its text; numbers and strings as they are."""
    if isinstance(value, Said):
        return {"text": str(value), **to_json(value)}
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)
