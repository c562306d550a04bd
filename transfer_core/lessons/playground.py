"""Lesson 1's slider: labelled images per class against a linear probe's accuracy, answered as the
slider moves. The pretrained network's features of every image are computed once; each move only refits
a logistic regression on the first n images of each class, which takes a fraction of a second. What the
slider fits is a probe on the same features the lesson's runs train on, fitted to convergence instead of
for four epochs of Adam: close to the runs' figure, not the same number.
"""

import time
from dataclasses import dataclass

import numpy as np
import torch

from transfer_core.lessons.questions import PROBE
from transfer_core.model_inputs import Inputs
from transfer_core.resolve import resolve

MOST_PER_CLASS = 100  # the slider's top: features of 1,000 training and 500 validation images


@dataclass(frozen=True)
class ProbeFeatures:
    """The pretrained network's penultimate features of the lesson's images, computed once."""

    train: np.ndarray  # (N, D), each class's images in the split's order
    train_y: np.ndarray
    val: np.ndarray
    val_y: np.ndarray
    classes: int
    seconds: float  # how long computing them took
    trainable: int  # what a probe on them trains: D x classes weights and classes biases


def probe_features(most_per_class: int = MOST_PER_CLASS) -> ProbeFeatures:
    started = time.perf_counter()
    config = PROBE.replace(train_per_class=most_per_class)
    run = resolve(config)
    inputs = Inputs(run.model, run.data, config, run.device, cache_prefix=False)
    features = {
        split: inputs.features(torch.arange(len(inputs.y[split])), split).float().cpu().numpy()
        for split in ("train", "val")
    }  # fmt: skip
    classes = len(run.data.classes)
    dimension = features["train"].shape[1]
    return ProbeFeatures(
        features["train"], run.data.train_y.numpy(), features["val"], run.data.val_y.numpy(), classes,
        time.perf_counter() - started, dimension * classes + classes,
    )  # fmt: skip


@dataclass(frozen=True)
class ProbeFit:
    per_class: int
    val_acc: float
    seconds: float


def fit_probe(features: ProbeFeatures, per_class: int) -> ProbeFit:
    """A logistic regression on the first `per_class` training images of each class, scored on every
    validation image."""
    from sklearn.linear_model import LogisticRegression  # imported where a fit happens: it takes a second

    started = time.perf_counter()
    chosen = np.concatenate(
        [np.flatnonzero(features.train_y == label)[:per_class] for label in range(features.classes)]
    )
    probe = LogisticRegression(C=1.0, max_iter=300)
    probe.fit(features.train[chosen], features.train_y[chosen])
    accuracy = float((probe.predict(features.val) == features.val_y).mean())
    return ProbeFit(per_class, accuracy, time.perf_counter() - started)
