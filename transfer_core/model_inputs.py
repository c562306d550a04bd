"""What a model reads, and the one evaluation that training's validation pass and the Results page share.

`Inputs` hands the trainable part of a model its input: images, or (when the first stages are
frozen and nothing is augmented) the frozen prefix's outputs, computed once before training, or read
from the shared feature store when any run computed them before.
"""

import hashlib
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from transfer_core.config import TrainConfig
from transfer_core.data.preparation import PreparedData, augment_batch, augmenter, normalize, shift_images
from transfer_core.models.backbones import get_spec
from transfer_core.models.strategies import TransferModel
from transfer_core.store.features import FeatureStore


@dataclass(frozen=True)
class FeatureProgress:
    """The frozen prefix's feature pass: `done` of `total` images (waiting: another run computes them)."""

    done: int
    total: int
    waiting: bool = False


@dataclass(frozen=True)
class FeaturesReady:
    source: str  # "computed" here, "stored" (read from the feature store), "repaired" (a damaged stored copy
    # computed again) or "memory" (no store)
    seconds: float


CACHE_LIMIT_BYTES = 2 * 1024**3  # above this, frozen-prefix outputs are recomputed every batch
EVAL_BATCH = 256


class Inputs:
    """What the trainable suffix reads: images, or the frozen prefix's outputs.

    Without augmentation a frozen prefix maps each image to the same output every epoch, so
    `fill_cache` computes every output once (or reads them from the feature store) before training.
    """

    def __init__(
        self, model: TransferModel, data: PreparedData, config: TrainConfig, device: torch.device, cache_prefix: bool
    ):
        self.model = model
        self.backbone = config.backbone
        self.prep = get_spec(config.backbone).preprocessing
        self.augment = augmenter(config.image_size) if config.augment else None
        self.x = {"train": data.train_x.to(device), "val": data.val_x.to(device)}
        self.y = {"train": data.train_y.to(device), "val": data.val_y.to(device)}
        if config.val_shift != "none":
            self.x["shift"] = shift_images(data.val_x, config.val_shift, config.seed).to(device)
            self.y["shift"] = self.y["val"]
        self.cache: dict[str, torch.Tensor] = {}
        self.cacheable = cache_prefix and model.frozen > 0 and not config.augment and self._cache_fits()

    @property
    def cached(self) -> bool:
        return bool(self.cache)

    def drop_cache(self) -> None:
        """Once a frozen stage is unfrozen, its cached outputs no longer hold."""
        self.cache.clear()
        self.cacheable = False

    def fill_cache(self, store: FeatureStore | None, salt: str = "") -> Iterator[FeatureProgress]:
        """Every split's prefix outputs, from the store or computed once (yielding progress); returns
        the FeaturesReady that says which. `salt` keeps private data's entries apart per owner."""
        started = time.perf_counter()
        if store is None:
            tensors, source = (yield from self._compute_prefix_outputs()), "memory"
        else:
            waiting = FeatureProgress(0, self.image_count, waiting=True)
            tensors, source = yield from store.fetch(self.prefix_key(salt), self._compute_prefix_outputs, waiting)
        device = self.x["train"].device
        self.cache = {split: tensors[split].to(device) for split in self.x}
        return FeaturesReady(source, time.perf_counter() - started)

    @property
    def image_count(self) -> int:
        return sum(len(x) for x in self.x.values())

    @torch.no_grad()
    def prefix_key(self, salt: str) -> str:
        """A digest of everything the prefix outputs depend on: the frozen stages' weights, every split's
        images, the backbone's preprocessing, and `salt`."""
        digest = hashlib.sha256(f"{self.backbone}|{self.model.frozen}|{self.prep}|{salt}".encode())
        for stage in list(self.model.stages.values())[: self.model.frozen]:
            for name, tensor in sorted(stage.state_dict().items()):
                digest.update(name.encode() + tensor.detach().cpu().contiguous().numpy().tobytes())
        for split in sorted(self.x):
            digest.update(split.encode() + self.x[split].cpu().contiguous().numpy().tobytes())
        return digest.hexdigest()[:32]

    def images(self, x_uint8: torch.Tensor, training: bool) -> torch.Tensor:
        if training and self.augment is not None:
            x_uint8 = augment_batch(x_uint8, self.augment)
        return normalize(x_uint8, self.prep)

    def logits(self, idx: torch.Tensor, split: str, training: bool) -> torch.Tensor:
        if not self.cached:
            return self.model(self.images(self.x[split][idx], training))
        x = self.images(self.x[split][idx], training) if self.model.suffix_needs_input else None
        return self.model.suffix(self.cache[split][idx], x)

    @torch.no_grad()
    def features(self, idx: torch.Tensor, split: str) -> torch.Tensor:
        """Penultimate features, in eval mode, reusing cached prefix outputs when there are any."""
        self.model.eval()
        if not self.cached:
            return self.model.embed(self.images(self.x[split][idx], False))
        x = self.images(self.x[split][idx], False) if self.model.suffix_needs_input else None
        return self.model.suffix_features(self.cache[split][idx], x)

    def _compute_prefix_outputs(self) -> Iterator[FeatureProgress]:
        """Every split's prefix outputs, EVAL_BATCH images at a time; returns {split: outputs}."""
        outputs, done = {}, 0
        for split, x in self.x.items():
            chunks = []
            for start in range(0, len(x), EVAL_BATCH):
                with torch.no_grad():  # frozen stages always run in eval mode
                    chunks.append(self.model.prefix(self.images(x[start : start + EVAL_BATCH], False)))
                done += len(chunks[-1])
                yield FeatureProgress(done, self.image_count)
            outputs[split] = torch.cat(chunks)
        return outputs

    @torch.no_grad()
    def _cache_fits(self) -> bool:
        one = self.model.prefix(self.images(self.x["train"][:1], False))
        return one.numel() * one.element_size() * self.image_count <= CACHE_LIMIT_BYTES


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
