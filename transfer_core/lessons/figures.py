"""The lessons' inline pictures of the field's key results, as the lab measured them: accuracy against
labelled images per class, and against frozen stages (`bench/lesson_figures.py` writes
assets/lesson_figures.json); a pretrained sentence encoder against TF-IDF as labelled definitions grow
(`bench/sentence_figure.py`, assets/sentence_figure.json). Three seeds each; the lessons read the files and
never train for them."""

import json
from pathlib import Path

import pandas as pd

from transfer_core.settings import ASSETS

FIGURES = ASSETS / "lesson_figures.json"
SERIES = ("images_per_class", "frozen_stages")
SENTENCE_FIGURE = ASSETS / "sentence_figure.json"  # bench/sentence_figure.py: lesson 11's probe against TF-IDF


def load(path: Path = FIGURES) -> dict | None:
    """{"setup": {...}, "images_per_class": DataFrame, "frozen_stages": DataFrame}, or None when the file
    is missing or unreadable (the lesson then says how to measure it)."""
    try:
        data = json.loads(path.read_text())
        return {"setup": data["setup"]} | {name: pd.DataFrame(data[name]) for name in SERIES}
    except (OSError, json.JSONDecodeError, KeyError, ValueError):
        return None


def load_sentences(path: Path = SENTENCE_FIGURE) -> dict | None:
    """{"setup": {...}, "definitions_per_kind": DataFrame} (lesson 11's probe and TF-IDF), or None."""
    try:
        data = json.loads(path.read_text())
        return {"setup": data["setup"], "definitions_per_kind": pd.DataFrame(data["definitions_per_kind"])}
    except (OSError, json.JSONDecodeError, KeyError, ValueError):
        return None


def crossover(points: pd.DataFrame, first: str, second: str) -> int | None:
    """The fewest images (or definitions) per class at which `second`'s mean reaches `first`'s (None: it never
    does here)."""
    means = points.groupby(["series", "x"])["val_acc"].mean().unstack(0)
    reached = means.index[means[second] >= means[first]]
    return int(reached.min()) if len(reached) else None
