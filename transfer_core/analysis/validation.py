"""A finished run, evaluated again: its model back from the run store (or an exported zip), and its
predictions on the validation split it was trained with, by the same `evaluate` training used."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import confusion_matrix

from transfer_core.config import TrainConfig
from transfer_core.data.preparation import PreparedData
from transfer_core.model_inputs import Inputs, evaluate
from transfer_core.models.strategies import TransferModel, build_model
from transfer_core.text import minilm
from transfer_core.words.word_lists import decode


def load_trained_model(config: TrainConfig, num_classes: int, state_dict: dict[str, torch.Tensor]) -> TransferModel:
    """The run's architecture (random start, so nothing downloads) with its trained weights."""
    model = build_model(config.replace(weights="random"), num_classes)
    model.load_state_dict(state_dict, strict=True)
    return model.eval()


def load_exported(zip_path) -> tuple[TrainConfig, list[str], TransferModel]:
    """A model exported from the run ledger, back in PyTorch: (config, class names, model in eval mode)."""
    import json
    import zipfile

    from safetensors.torch import load

    with zipfile.ZipFile(zip_path) as archive:
        config = TrainConfig.from_json(archive.read("config.json").decode())
        classes = json.loads(archive.read("classes.json"))
        state = load(archive.read("weights.safetensors"))
    return config, classes, load_trained_model(config, len(classes), state)


@dataclass(frozen=True)
class ValidationReport:
    classes: list[str]
    y_true: np.ndarray  # (N,)
    y_pred: np.ndarray  # (N,)
    confidence: np.ndarray  # (N,) softmax probability of the predicted class
    images: np.ndarray  # uint8 (N, H, W, 3), as the model saw them before normalisation; for words, str (N,);
    # for sound, the clips' spectrogram pictures
    clips: np.ndarray | None = None  # sound: the validation clips, int16 (N, S), to play back

    @property
    def accuracy(self) -> float:
        return float((self.y_true == self.y_pred).mean())

    def confusion(self) -> np.ndarray:
        """Rows: true class; columns: predicted class."""
        return confusion_matrix(self.y_true, self.y_pred, labels=range(len(self.classes)))

    def per_class(self) -> pd.DataFrame:
        matrix = self.confusion()
        counts = matrix.sum(axis=1)
        accuracy = np.divide(matrix.diagonal(), counts, out=np.zeros(len(counts)), where=counts > 0)
        return pd.DataFrame({"class": self.classes, "accuracy": accuracy, "images": counts})


def validation_report(
    config: TrainConfig, classes: list[str], model: TransferModel, data: PreparedData
) -> ValidationReport:
    """The trained `model` on the validation split `data` holds (see resolve.verified_data)."""
    plain = config.replace(val_shift="none")  # the report reads the validation split only: no shifted copy
    evaluation = evaluate(Inputs(model.eval(), data, plain, torch.device("cpu"), cache_prefix=False))
    confidence, predicted = evaluation.probabilities.max(1)
    return ValidationReport(
        classes=classes,
        y_true=data.val_y.numpy(),
        y_pred=predicted.numpy(),
        confidence=confidence.numpy(),
        images=np.array(data.val_texts) if data.val_texts else samples_as_shown(samples_of(data)),
        clips=None if data.val_clips is None else data.val_clips.numpy(),
    )


def samples_of(data: PreparedData) -> torch.Tensor:
    """What the validation samples are shown from: the clips of sound, else what the model reads."""
    return data.val_x if data.val_clips is None else data.val_clips


def samples_as_shown(x: torch.Tensor) -> np.ndarray:
    """Images as uint8 (N, H, W, 3) arrays; a word dataset's tokens as the words they spell, a text dataset's
    as its sentences (MiniLM's 64 WordPiece tokens, not a word's 16 letters); clips as spectrogram pictures."""
    if x.dtype == torch.int64 and x.shape[-1] == minilm.TOKENS:
        return np.array(minilm.decode(x))
    if x.dtype == torch.int64:
        return np.array([decode(tokens) for tokens in x.numpy()])
    if x.dtype == torch.int16:
        from transfer_core.sound.spectrogram import spectrogram_images

        return spectrogram_images(x).unsqueeze(-1).expand(-1, -1, -1, 3).numpy()
    return x.permute(0, 2, 3, 1).numpy()
