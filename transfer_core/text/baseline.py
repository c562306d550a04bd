"""The classic baseline a pretrained encoder must beat: TF-IDF over words and character 2-5-grams, with a
logistic regression whose regularisation is chosen by cross-validation on the training definitions alone.
Nothing here was pretrained: it learns from the run's own few labelled sentences."""

import time
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline, make_union

from transfer_core.config import TrainConfig
from transfer_core.data.preparation import PreparedData, split_indices
from transfer_core.text.definitions import texts_and_labels

STRENGTHS = (0.1, 1.0, 10.0, 100.0)  # C, the inverse regularisation strength, tried by cross-validation


@dataclass(frozen=True)
class BaselineResult:
    val_acc: float
    seconds: float
    strength: float  # the C cross-validation chose


def tfidf_classifier(folds: int):
    features = make_union(
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
    )
    model = make_pipeline(features, LogisticRegression(max_iter=2000))
    return GridSearchCV(model, {"logisticregression__C": list(STRENGTHS)}, cv=folds, scoring="accuracy")


def tfidf_baseline(train: list[str], train_y: np.ndarray, val: list[str], val_y: np.ndarray) -> BaselineResult:
    started = time.perf_counter()
    folds = int(min(5, np.bincount(train_y).min()))
    model = tfidf_classifier(max(2, folds)).fit(train, train_y)
    accuracy = float((model.predict(val) == val_y).mean())
    return BaselineResult(accuracy, time.perf_counter() - started, model.best_params_["logisticregression__C"])


def split_texts(config: TrainConfig) -> tuple[list[str], np.ndarray, list[str], np.ndarray]:
    """The definitions a run on the built-in sentences trains and validates on: the same seeded split."""
    texts, labels, _ = texts_and_labels()
    train_idx, val_idx = split_indices(labels, config.train_per_class, config.val_per_class, config.seed)
    return [texts[i] for i in train_idx], labels[train_idx], [texts[i] for i in val_idx], labels[val_idx]


def baseline_for(config: TrainConfig) -> BaselineResult:
    """TF-IDF on exactly the definitions `config`'s run sees."""
    train, train_y, val, val_y = split_texts(config)
    return _fitted_once(tuple(train), tuple(train_y.tolist()), tuple(val), tuple(val_y.tolist()))


def baseline_on(data: PreparedData) -> BaselineResult | None:
    """TF-IDF on a run's own sentences (the built-in definitions or a learner's CSV), split as the run splits
    them; None for data that is not sentences. Fitted once per set of sentences and labels: a page asks again
    on every redraw, and a dataset kept again under the same name with other rows is fitted afresh."""
    if data.train_texts is None or data.val_texts is None:
        return None
    labels = tuple(data.train_y.tolist()), tuple(data.val_y.tolist())
    return _fitted_once(data.train_texts, labels[0], data.val_texts, labels[1])


@lru_cache(maxsize=64)
def _fitted_once(train: tuple[str, ...], train_y: tuple[int, ...], val: tuple[str, ...],
                 val_y: tuple[int, ...]) -> BaselineResult:  # fmt: skip
    return tfidf_baseline(list(train), np.array(train_y), list(val), np.array(val_y))
