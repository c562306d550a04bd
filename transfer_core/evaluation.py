"""What a model reads, and the one evaluation that training's validation pass and the Results page share.

`Inputs` hands the trainable part of a model its input: images, or (when the first stages are
frozen and nothing is augmented) the frozen prefix's outputs, each computed once and kept.
"""

from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .backbones import get_spec
from .config import TrainConfig
from .data import PreparedData, augment_batch, augmenter, normalize, shift_images
from .strategies import TransferModel

CACHE_LIMIT_BYTES = 2 * 1024**3  # above this, frozen-prefix outputs are recomputed every batch
EVAL_BATCH = 256


class Inputs:
    """What the trainable suffix reads: images, or the frozen prefix's outputs.

    Without augmentation a frozen prefix maps each image to the same output every
    epoch, so each output is computed the first time it is needed and kept.
    """

    def __init__(
        self, model: TransferModel, data: PreparedData, config: TrainConfig, device: torch.device, cache_prefix: bool
    ):
        self.model = model
        self.prep = get_spec(config.backbone).preprocessing
        self.augment = augmenter(config.image_size) if config.augment else None
        self.x = {"train": data.train_x.to(device), "val": data.val_x.to(device)}
        self.y = {"train": data.train_y.to(device), "val": data.val_y.to(device)}
        if config.val_shift != "none":
            self.x["shift"] = shift_images(data.val_x, config.val_shift, config.seed).to(device)
            self.y["shift"] = self.y["val"]
        self.cache: dict[str, torch.Tensor] = {}
        self.filled: dict[str, torch.Tensor] = {}
        if cache_prefix and model.frozen > 0 and not config.augment:
            self._allocate_cache()

    @property
    def cached(self) -> bool:
        return bool(self.cache)

    def drop_cache(self) -> None:
        """Once a frozen stage is unfrozen, its cached outputs no longer hold."""
        self.cache.clear()
        self.filled.clear()

    def images(self, x_uint8: torch.Tensor, training: bool) -> torch.Tensor:
        if training and self.augment is not None:
            x_uint8 = augment_batch(x_uint8, self.augment)
        return normalize(x_uint8, self.prep)

    def logits(self, idx: torch.Tensor, split: str, training: bool) -> torch.Tensor:
        if not self.cached:
            return self.model(self.images(self.x[split][idx], training))
        x = self.images(self.x[split][idx], training) if self.model.suffix_needs_input else None
        return self.model.suffix(self.prefix_outputs(idx, split), x)

    @torch.no_grad()
    def features(self, idx: torch.Tensor, split: str) -> torch.Tensor:
        """Penultimate features, in eval mode, reusing cached prefix outputs when there are any."""
        self.model.eval()
        if not self.cached:
            return self.model.embed(self.images(self.x[split][idx], False))
        x = self.images(self.x[split][idx], False) if self.model.suffix_needs_input else None
        return self.model.suffix_features(self.prefix_outputs(idx, split), x)

    def prefix_outputs(self, idx: torch.Tensor, split: str) -> torch.Tensor:
        cache, filled = self.cache[split], self.filled[split]
        missing = idx[~filled[idx]]
        if len(missing):
            with torch.no_grad():  # frozen stages always run in eval mode
                cache[missing] = self.model.prefix(self.images(self.x[split][missing], False))
            filled[missing] = True
        return cache[idx]

    @torch.no_grad()
    def _allocate_cache(self) -> None:
        one = self.model.prefix(self.images(self.x["train"][:1], False))
        total = sum(len(x) for x in self.x.values())
        if one.numel() * one.element_size() * total > CACHE_LIMIT_BYTES:
            return
        for split, x in self.x.items():
            self.cache[split] = torch.empty((len(x), *one.shape[1:]), dtype=one.dtype, device=one.device)
            self.filled[split] = torch.zeros(len(x), dtype=torch.bool, device=one.device)


@dataclass(frozen=True)
class Evaluation:
    loss: float  # mean cross-entropy
    accuracy: float
    features: torch.Tensor  # (N, D) penultimate features
    probabilities: torch.Tensor  # float32 (N, C) softmax of the class scores


@torch.no_grad()
def evaluate(inputs: Inputs, split: str = "val", autocast=None) -> Evaluation:
    """Loss, accuracy, features and class probabilities of every image in a split, in eval mode.

    Training's validation pass and the Results page both call this, so they cannot disagree."""
    labels = inputs.y[split]
    loss_sum, features, probabilities = 0.0, [], []
    for start in range(0, len(labels), EVAL_BATCH):
        idx = torch.arange(start, min(start + EVAL_BATCH, len(labels)), device=labels.device)
        with autocast or nullcontext():
            batch_features = inputs.features(idx, split)
            logits = inputs.model.classify(batch_features).float()
        loss_sum += float(F.cross_entropy(logits, labels[idx], reduction="sum"))
        features.append(batch_features)
        probabilities.append(torch.softmax(logits, 1))
    probabilities = torch.cat(probabilities)
    accuracy = int((probabilities.argmax(1) == labels).sum()) / len(labels)
    return Evaluation(loss_sum / len(labels), accuracy, torch.cat(features), probabilities)
