"""A finished run listening to a new clip: the learner says a word into the microphone and the
trained model names its class, as it would any validation clip."""

import numpy as np
import torch

from transfer_core.data.preparation import normalize, sound_inputs
from transfer_core.models.backbones import get_spec
from transfer_core.models.strategies import TransferModel


@torch.no_grad()
def class_probabilities(model: TransferModel, backbone: str, image_size: int, clip: np.ndarray) -> np.ndarray:
    """float (classes,): the run's softmax over its classes for one int16 clip (CLIP_SAMPLES,)."""
    spec = get_spec(backbone)
    x = sound_inputs(torch.from_numpy(clip)[None], spec.reads == "sound", image_size)
    model.eval()
    return torch.softmax(model(normalize(x, spec.preprocessing)), dim=1)[0].numpy()
