"""WordNet's noun definitions, sorted into kinds of thing by WordNet's own lexicographer files (Debian's
`wordnet-base`): a sentence classification task no network here was trained on.

Each synset of data.noun carries the number of the file its lexicographer filed it in (noun.animal,
noun.food, ...) and a gloss: the definition, then examples in quotes. The definition alone is the text.
"""

from functools import cache
from pathlib import Path

import numpy as np

WORDNET = Path("/usr/share/wordnet/data.noun")
# Eight kinds, by lexicographer file number (WordNet's lexnames): the largest concrete ones.
KINDS = {5: "animal", 6: "artifact", 8: "body", 13: "food", 15: "location", 18: "person", 20: "plant", 27: "substance"}
PACKAGE = "wordnet-base"
SMALLEST_KIND = 2015  # body's definitions in WordNet 3.0: known before the file is read


def definition(gloss: str) -> str:
    """A gloss's definition: what comes before its first quoted example."""
    return gloss.split('; "')[0].split(' "')[0].strip().rstrip(";").strip()


@cache
def definitions_by_kind(path: Path = WORDNET) -> dict[str, list[str]]:
    """{kind: its definitions}, each definition once (a few synsets share one), in the file's order."""
    kinds: dict[str, list[str]] = {kind: [] for kind in KINDS.values()}
    seen: set[str] = set()
    with path.open(encoding="utf-8", errors="replace") as file:
        for line in file:
            if line.startswith("  ") or "|" not in line:  # the licence at the top
                continue
            fields, gloss = line.split("|", 1)
            kind = KINDS.get(int(fields.split()[1]))
            text = definition(gloss)
            if kind and text and text not in seen:
                seen.add(text)
                kinds[kind].append(text)
    return kinds


def available(path: Path = WORDNET) -> bool:
    return path.exists()


def texts_and_labels() -> tuple[list[str], np.ndarray, list[str]]:
    """Every definition, its kind's number, and the kinds in that order: the dataset a run splits."""
    kinds = definitions_by_kind()
    texts = [text for entries in kinds.values() for text in entries]
    labels = np.concatenate([np.full(len(entries), i, dtype=np.int64) for i, entries in enumerate(kinds.values())])
    return texts, labels, list(kinds)
