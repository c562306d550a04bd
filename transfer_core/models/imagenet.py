"""ImageNet predictions of a pretrained backbone on a single photo, and ordinary photos to try it on."""

from dataclasses import dataclass
from functools import cache

import numpy as np
import torch
import torchvision.models as tvm
import torchvision.transforms.v2 as T
from PIL import Image

from transfer_core.models.backbones import Preprocessing, StagedBackbone


@cache
def imagenet_categories() -> list[str]:
    """The 1000 ImageNet class names; torchvision ships them in its weights metadata (no download)."""
    return list(tvm.EfficientNet_B0_Weights.IMAGENET1K_V1.meta["categories"])


@dataclass(frozen=True)
class Prediction:
    label: str
    probability: float


def photo_tensor(image: Image.Image | np.ndarray, prep: Preprocessing) -> torch.Tensor:
    """Resize, centre-crop (the usual 0.875 crop) and normalise one photo: (1, 3, S, S)."""
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    size = prep.input_size
    transform = T.Compose(
        [
            T.PILToTensor(),
            T.Resize(int(round(size / 0.875)), antialias=True),
            T.CenterCrop(size),
            T.ToDtype(torch.float32, scale=True),
            T.Normalize(prep.mean, prep.std),
        ]
    )
    return transform(image.convert("RGB")).unsqueeze(0)


@torch.no_grad()
def predict_topk(model: StagedBackbone, image, prep: Preprocessing, k: int = 5) -> list[Prediction]:
    model.eval()
    probs = torch.softmax(model(photo_tensor(image, prep)), dim=1)[0]
    top = torch.topk(probs, k)
    names = imagenet_categories()
    return [Prediction(names[i], float(p)) for p, i in zip(top.values, top.indices)]


def sample_photos() -> dict[str, np.ndarray]:
    """Ordinary photos that ship with scikit-learn and scikit-image, with their real subjects."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images
    return {
        "cat (scikit-image)": skimage.data.chelsea(),
        "coffee (scikit-image)": skimage.data.coffee(),
        "palace (scikit-learn)": china,
        "flower (scikit-learn)": flower,
        "rocket (scikit-image)": skimage.data.rocket(),
    }
