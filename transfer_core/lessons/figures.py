"""The lessons' inline pictures of the field's key results, as the lab measured them: accuracy against
labelled images per class, and against frozen stages. `bench/lesson_figures.py` measures them (three
seeds each) and writes assets/lesson_figures.json; the lessons read that file and never train for it."""

import json
from pathlib import Path

import pandas as pd

from transfer_core.settings import ASSETS

FIGURES = ASSETS / "lesson_figures.json"
SERIES = ("images_per_class", "frozen_stages")


def load(path: Path = FIGURES) -> dict | None:
    """{"setup": {...}, "images_per_class": DataFrame, "frozen_stages": DataFrame}, or None when the file
    is missing or unreadable (the lesson then says how to measure it)."""
    try:
        data = json.loads(path.read_text())
        return {"setup": data["setup"]} | {name: pd.DataFrame(data[name]) for name in SERIES}
    except (OSError, json.JSONDecodeError, KeyError, ValueError):
        return None


def crossover(points: pd.DataFrame, first: str, second: str) -> int | None:
    """The fewest images per class at which `second`'s mean reaches `first`'s (None: it never does here)."""
    means = points.groupby(["series", "x"])["val_acc"].mean().unstack(0)
    reached = means.index[means[second] >= means[first]]
    return int(reached.min()) if len(reached) else None
