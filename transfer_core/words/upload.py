"""A learner's own word dataset: one text file per class, one word per line.

The same limits as other uploads (a file's size, words a class needs) and a line limit; the text must
be UTF-8. Lines that are not a word (see words.py: letters only, 2 to 16 of them, no proper names) are
listed with why and skipped; repeated words count once. A file that cannot be used at all is refused
with its reason, and the other classes are still read.
"""

import numpy as np

from transfer_core.data.registry import RawDataset
from transfer_core.data.uploads import ImportResult, Refusal, UploadRejected, count
from transfer_core.messages import say
from transfer_core.settings import UploadLimits
from transfer_core.words.word_lists import MAX_LETTERS, encode, is_word

MAX_LINES = 50_000  # lines in one class's file: far more words than a class needs, far fewer than a dictionary
LISTED_LINES = 20  # bad lines listed per file; the rest are counted


def import_word_lists(files: dict[str, tuple[str, bytes]], limits: UploadLimits) -> ImportResult:
    """{class name: (file name, its bytes)} -> a word dataset; UploadRejected when fewer than two
    classes have enough words."""
    words_by_class: dict[str, list[str]] = {}
    refused: list[Refusal] = []
    for class_name, (file_name, data) in files.items():
        words, problems = read_word_file(file_name, data, limits)
        refused += problems
        if any(problem.name == file_name for problem in problems):  # the file as a whole: already said why
            continue
        if len(words) < limits.min_per_class:
            few = say(
                "words.few",
                "{count}; a class needs {least}",
                count=count(len(words), "word"),
                least=limits.min_per_class,
            )
            refused.append(Refusal(file_name, few))
            continue
        words_by_class[class_name] = words
    if len(words_by_class) < 2:
        sentence = (
            "two classes need {least} words or more each; one word per line, letters only, at most {letters} letters."
        )
        raise UploadRejected(say("words.two_classes", sentence, least=limits.min_per_class, letters=MAX_LETTERS))
    classes = list(words_by_class)
    tokens = np.stack([encode(word) for words in words_by_class.values() for word in words])
    labels = np.concatenate([np.full(len(words), i, dtype=np.int64) for i, words in enumerate(words_by_class.values())])
    counts = {name: len(words) for name, words in words_by_class.items()}
    return ImportResult(RawDataset(tokens, labels, classes, kind="words"), counts, refused, unit="word")


def read_word_file(file_name: str, data: bytes, limits: UploadLimits) -> tuple[list[str], list[Refusal]]:
    """The file's distinct words, and a Refusal per bad line (the first LISTED_LINES, then a count)."""
    if len(data) > limits.upload_bytes:
        return [], [Refusal(file_name, say("words.file_size", "larger than {limit} MB", limit=limits.upload_mb))]
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        sentence = "not UTF-8 text: save it as UTF-8 (most editors offer it under Save as)"
        return [], [Refusal(file_name, say("words.not_utf8", sentence))]
    lines = text.splitlines()
    if len(lines) > MAX_LINES:
        sentence = "{lines} lines, more than {most}: keep the words you need"
        return [], [Refusal(file_name, say("words.too_many_lines", sentence, lines=len(lines), most=MAX_LINES))]
    words, seen, bad = [], set(), []
    for number, line in enumerate(lines, start=1):
        entry = line.strip()
        if not entry:
            continue
        if not is_word(entry):
            bad.append((number, entry))
            continue
        if entry.lower() not in seen:
            seen.add(entry.lower())
            words.append(entry.lower())
    refused = [
        Refusal(
            f"{file_name}, line {n}",
            say("words.not_word", "“{entry}” is not a word: {why}", entry=entry[:40], why=why(entry)),
        )
        for n, entry in bad
    ]
    if len(refused) > LISTED_LINES:
        more = say("words.more_lines", "{count} more lines like these", count=len(bad) - LISTED_LINES)
        refused = refused[:LISTED_LINES] + [Refusal(f"{file_name}, further lines", more)]
    return words, refused


def why(entry: str) -> str:
    if len(entry) > MAX_LETTERS:
        return say("words.too_long", "longer than {letters} letters", letters=MAX_LETTERS)
    if len(entry) < 2:
        return say("words.one_letter", "one letter")
    if not entry.isalpha():
        return say("words.letters_only", "only letters, one word per line (no spaces, digits or punctuation)")
    return say("words.capital", "starts with a capital (a name)")
