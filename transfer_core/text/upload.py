"""A learner's own sentences: one CSV file of `text,label` rows, uploaded or named on the command line.

The hostile-input rules that images have, for text. The whole file is refused, with what to do, when it is
too large, not UTF-8, not a CSV, lacks a `text` and a `label` column, has too many rows or labels, or leaves
fewer than two labels with enough texts. A bad row (an empty text or label, a text too long, a label that is
no plain name, the same text under two labels) is listed with its line and why and left out; a text repeated
under one label counts once. Nothing the learner sent is changed: the texts are kept as written beside the
tokens the encoder reads.
"""

import csv
import io
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from transfer_core.data.registry import RawDataset
from transfer_core.data.uploads import ImportResult, Refusal, UploadRejected, class_name_problem, count
from transfer_core.errors import DatasetUnavailable
from transfer_core.messages import message_of, say
from transfer_core.settings import UploadLimits
from transfer_core.text import minilm

MAX_ROWS = 20_000  # far more than a class needs, few enough to tokenize in seconds
MAX_LABELS = 50  # more is a text column read as labels, or a task no short run can learn
MAX_CHARACTERS = 2_000  # a paragraph; the encoder reads only its first 64 word pieces anyway
LISTED_ROWS = 20  # bad rows listed; the rest are counted
COLUMNS = ("text", "label")


@dataclass
class Rows:
    """The usable rows, by label, and why each other row was left out."""

    texts: dict[str, list[str]] = field(default_factory=dict)
    refused: list[Refusal] = field(default_factory=list)
    where: dict[str, tuple[str, int]] = field(default_factory=dict)  # a text's first label and line


def import_csv(file_name: str, data: bytes, limits: UploadLimits) -> ImportResult:
    """A CSV's `text,label` rows -> a text dataset; UploadRejected says why the whole file is unusable."""
    rows = sorted_rows(file_name, csv_rows(data, limits))
    kept = {label: texts for label, texts in rows.texts.items() if len(texts) >= limits.min_per_class}
    short = [
        Refusal(say("csv.label", "label “{label}”", label=label),
                say("csv.few", "{count}; a label needs {least}", count=count(len(texts), "sentence"),
                    least=limits.min_per_class))
        for label, texts in rows.texts.items() if label not in kept
    ]  # fmt: skip
    if len(kept) < 2:
        sentence = "two labels need {least} texts or more each; the file has {labels}."
        labels = ", ".join(f"{label} ({len(texts)})" for label, texts in rows.texts.items()) or "none"
        raise UploadRejected(say("csv.two_labels", sentence, least=limits.min_per_class, labels=labels))
    texts = [text for entries in kept.values() for text in entries]
    labels = np.concatenate([np.full(len(entries), i, dtype=np.int64) for i, entries in enumerate(kept.values())])
    dataset = RawDataset(minilm.tokenize(texts).numpy(), labels, list(kept), kind="text", texts=tuple(texts))
    return ImportResult(dataset, {label: len(entries) for label, entries in kept.items()},
                        short + listed(rows.refused), unit="sentence")  # fmt: skip


def read_csv_file(path: str, limits: UploadLimits) -> ImportResult:
    """A CSV on this machine, as the command line names it (`--dataset csv:PATH`); DatasetUnavailable says
    why it cannot be used. One command-line run asks three times (the rows it left out, the classes, the
    data): the file is read and tokenized once while it stays as it was."""
    try:
        found = os.stat(path)
        return _read_once(path, found.st_mtime_ns, found.st_size, limits)
    except OSError as err:
        raise DatasetUnavailable(say("csv.unreadable", "cannot read {path} ({why}).", path=path,
                                     why=err.strerror)) from None  # fmt: skip


@lru_cache(maxsize=4)
def _read_once(path: str, _modified_ns: int, _size: int, limits: UploadLimits) -> ImportResult:
    with open(path, "rb") as file:  # one byte past the limit is enough to refuse it: read no more
        data = file.read(limits.upload_bytes + 1)
    try:
        return import_csv(Path(path).name, data, limits)
    except UploadRejected as err:
        raise DatasetUnavailable(say("csv.rejected", "{path}: {problem}", path=path, problem=message_of(err))) from err


def csv_rows(data: bytes, limits: UploadLimits) -> list[tuple[int, str, str]]:
    """(line, text, label) for every row after the header; UploadRejected for a file unusable as a whole."""
    if len(data) > limits.upload_bytes:
        raise UploadRejected(say("csv.size", "the file is larger than {limit} MB; send a smaller one.",
                                 limit=limits.upload_mb))  # fmt: skip
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        sentence = "the file is not UTF-8 text: save it as CSV UTF-8 (spreadsheets offer it under Save as)."
        raise UploadRejected(say("csv.not_utf8", sentence)) from None
    if "\x00" in content:  # a spreadsheet's own format, or some other binary file renamed .csv
        sentence = "the file holds NUL bytes, so it is no text file (a spreadsheet's .xlsx?): save it as CSV UTF-8."
        raise UploadRejected(say("csv.binary", sentence))
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        if not all(name in header for name in COLUMNS):
            sentence = "the first row must name the columns text and label (it reads {header}); add that row."
            raise UploadRejected(say("csv.header", sentence, header=", ".join(header)[:80] or "nothing"))
        text_at, label_at = header.index("text"), header.index("label")
        rows = []
        for fields in reader:
            if len(rows) == MAX_ROWS:
                sentence = "the file has more than {most} rows; keep the ones you need."
                raise UploadRejected(say("csv.too_many_rows", sentence, most=MAX_ROWS))
            if any(field.strip() for field in fields):  # blank lines are no rows
                rows.append((reader.line_num, cell(fields, text_at), cell(fields, label_at)))
    except csv.Error as err:  # a field past csv's size limit (an unclosed quote swallowing the file)
        sentence = "line {line} is not CSV ({why}); save the file as CSV from a spreadsheet."
        raise UploadRejected(say("csv.not_csv", sentence, line=reader.line_num, why=str(err))) from None
    return rows


def cell(fields: list[str], at: int) -> str:
    return fields[at].strip() if at < len(fields) else ""  # a short row: that column is empty


def sorted_rows(file_name: str, rows: list[tuple[int, str, str]]) -> Rows:
    """The rows' texts by label, each text once; a Refusal for each row left out."""
    sorted_ = Rows()
    for line, text, label in rows:
        problem = row_problem(text, label, sorted_)
        if problem:
            sorted_.refused.append(Refusal(say("csv.line", "{file}, line {line}", file=file_name, line=line), problem))
            continue
        if text.casefold() in sorted_.where:  # the same text under the same label: counted once
            continue
        if label not in sorted_.texts and len(sorted_.texts) == MAX_LABELS:
            sentence = "the file has more than {most} labels; is the label column holding the texts?"
            raise UploadRejected(say("csv.too_many_labels", sentence, most=MAX_LABELS))
        sorted_.texts.setdefault(label, []).append(text)
        sorted_.where[text.casefold()] = (label, line)
    return sorted_


def row_problem(text: str, label: str, rows: Rows) -> str | None:
    if not text:
        return say("csv.empty_text", "the text is empty")
    if not label:
        return say("csv.empty_label", "the label is empty")
    if len(text) > MAX_CHARACTERS:
        return say("csv.too_long", "the text is longer than {most} characters; the encoder reads only its start: "
                   "shorten it", most=MAX_CHARACTERS)  # fmt: skip
    if problem := class_name_problem(label):
        return say("csv.bad_label", "label “{label}”: {problem}", label=label[:40], problem=problem)
    first = rows.where.get(text.casefold())
    if first and first[0] != label:
        sentence = "the same text is labelled “{first}” on line {line}: keep it under one label"
        return say("csv.two_labels_one_text", sentence, first=first[0], line=first[1])
    return None


def listed(refused: list[Refusal]) -> list[Refusal]:
    """The first LISTED_ROWS refusals, then one that counts the rest."""
    if len(refused) <= LISTED_ROWS:
        return refused
    more = say("csv.more_rows", "{count} more rows like these", count=len(refused) - LISTED_ROWS)
    return refused[:LISTED_ROWS] + [Refusal(say("csv.further_rows", "further rows"), more)]


# --- kept on disk ---------------------------------------------------------------------------------

SAVED_FILE = "sentences.csv"  # a saved text dataset: its rows, as the learner wrote them


def write_saved(dataset: RawDataset, folder: Path) -> None:
    folder.mkdir(parents=True)
    with (folder / SAVED_FILE).open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        writer.writerows((text, dataset.classes[label]) for text, label in zip(dataset.texts, dataset.labels))


def read_saved(folder: Path) -> RawDataset:
    """A saved text dataset: its labels in the order they first appear, its texts in order."""
    with (folder / SAVED_FILE).open(encoding="utf-8", newline="") as file:
        rows = [(row["text"], row["label"]) for row in csv.DictReader(file)]
    classes = list(dict.fromkeys(label for _, label in rows))
    texts = tuple(text for text, _ in rows)
    labels = np.array([classes.index(label) for _, label in rows], dtype=np.int64)
    return RawDataset(minilm.tokenize(list(texts)).numpy(), labels, classes, kind="text", texts=texts)


def saved_classes(folder: Path) -> list[str]:
    return read_saved(folder).classes
