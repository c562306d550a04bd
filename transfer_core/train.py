"""The training loop, as a generator of small events.

`train(config)` yields Started, BatchProgress after every batch, EpochMetrics and
EpochRecord (features and weight drift) after every epoch, then Done (with the
trained model), Cancelled or Failed. The caller owns the loop: it can record
events, draw them, or stop asking.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F

from .backbones import get_spec
from .config import TrainConfig
from .data import PreparedData, augment_batch, augmenter, normalize, prepare_for, shift_images
from .errors import ConfigError, TransferLabError
from .inspect import parameter_snapshot, weight_drift
from .strategies import TransferModel, count_parameters, freeze_stages, initial_model, param_groups

CACHE_LIMIT_BYTES = 2 * 1024**3  # above this, frozen-prefix outputs are recomputed every batch
RECORD_SAMPLE = 256  # validation images whose features are recorded every epoch
EVAL_BATCH = 256


@dataclass(frozen=True)
class BatchProgress:
    epoch: int  # 1-based
    epochs: int
    batch: int  # 1-based
    batches: int
    loss: float
    accuracy: float  # on this batch, in training mode


@dataclass(frozen=True)
class EpochMetrics:
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    seconds: float  # the whole epoch, validation included
    images_per_second: float  # training images per second of training
    shift_acc: float | None = None  # accuracy on the shifted validation copy, when the config asks for one

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Started:
    classes: list[str]
    trainable_parameters: int
    total_parameters: int
    device: str
    cached_prefix: bool


@dataclass(frozen=True)
class EpochRecord:
    """What the features and weights look like after an epoch (epoch 0: before training)."""

    epoch: int
    sample: np.ndarray  # indices into the validation split, the same every epoch
    embedding: np.ndarray  # float16 (len(sample), D): penultimate features of those images
    drift: dict[str, float]  # per stage: relative L2 distance of its weights from the start


@dataclass(frozen=True)
class Done:
    metrics: EpochMetrics
    model: TransferModel
    seconds: float


@dataclass(frozen=True)
class Cancelled:
    epoch: int
    batch: int


@dataclass(frozen=True)
class Failed:
    message: str


Event = Started | BatchProgress | EpochMetrics | EpochRecord | Done | Cancelled | Failed


def resolve_device(requested: str) -> torch.device:
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device", "CUDA was requested but this machine has no usable CUDA GPU; choose cpu or auto.")
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


def make_optimizer(config: TrainConfig, model: TransferModel) -> torch.optim.Optimizer:
    groups = param_groups(model, config.lr, config.stage_lr_decay)
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay)
    optimizer_class = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    return optimizer_class(groups, lr=config.lr, weight_decay=config.weight_decay)


class FeatureRecorder:
    """Records a fixed sample's penultimate features and every stage's weight drift, once per epoch."""

    def __init__(self, inputs: "Inputs", val_count: int, seed: int):
        self.inputs = inputs
        generator = torch.Generator().manual_seed(seed)
        sample = torch.randperm(val_count, generator=generator)[:RECORD_SAMPLE].sort().values
        self.sample = sample.to(inputs.x["val"].device)
        self.start = parameter_snapshot(inputs.model)

    def record(self, epoch: int, val_features: torch.Tensor | None = None) -> EpochRecord:
        """`val_features`: every validation image's features from this epoch's evaluation, when at hand."""
        sample = val_features[self.sample] if val_features is not None else self.inputs.features(self.sample, "val")
        embedding = sample.float().cpu().numpy().astype(np.float16)
        drift = weight_drift(self.start, self.inputs.model)
        return EpochRecord(epoch, self.sample.cpu().numpy(), embedding, drift)


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
        if config.val_shift != "none":
            self.x["shift"] = shift_images(data.val_x, config.val_shift, config.seed).to(device)
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


def train(
    config: TrainConfig,
    should_stop: Callable[[], bool] = lambda: False,
    cache_prefix: bool = True,
    record: bool = True,
    owner: str | None = None,
) -> Iterator[Event]:
    """Train the model `config` describes; expected problems end in Failed with advice.

    `should_stop` is asked before every batch; `cache_prefix=False` recomputes frozen stages every batch
    (the reference the cache is measured and tested against); `record=False` skips the EpochRecords;
    `owner` resolves the session's own (`mine:`) dataset and weights."""
    try:
        device = resolve_device(config.device)
        data = prepare_for(config, owner)
        model = initial_model(config, len(data.classes), owner).to(device)
        inputs = Inputs(model, data, config, device, cache_prefix)
    except TransferLabError as err:
        yield Failed(str(err))
        return
    optimizer = make_optimizer(config, model)
    yield Started(data.classes, count_parameters(model, True), count_parameters(model), str(device), inputs.cached)
    shuffle = torch.Generator().manual_seed(config.seed)
    train_y, val_y = data.train_y.to(device), data.val_y.to(device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()
    recorder = FeatureRecorder(inputs, len(val_y), config.seed) if record else None
    if recorder:
        yield recorder.record(0)
    started = time.perf_counter()
    for epoch in range(1, config.epochs + 1):
        if config.strategy == "lpft" and epoch == config.probe_epochs + 1:
            optimizer = start_fine_tuning(model, inputs, config)
        epoch_start = time.perf_counter()
        order = torch.randperm(len(train_y), generator=shuffle).to(device)
        loop = train_one_epoch(inputs, optimizer, train_y, order, config, epoch, autocast, should_stop)
        train_loss, train_acc = yield from loop
        if train_loss is None:
            return
        train_seconds = time.perf_counter() - epoch_start
        val_loss, val_acc, val_features = evaluate(inputs, val_y, autocast)
        shift_acc = evaluate(inputs, val_y, autocast, "shift")[1] if "shift" in inputs.x else None
        seconds = time.perf_counter() - epoch_start
        metrics = EpochMetrics(
            epoch, train_loss, train_acc, val_loss, val_acc, seconds, len(train_y) / train_seconds, shift_acc
        )
        yield metrics
        if recorder:
            yield recorder.record(epoch, val_features)
    yield Done(metrics, model.cpu().eval(), time.perf_counter() - started)


def start_fine_tuning(model: TransferModel, inputs: Inputs, config: TrainConfig) -> torch.optim.Optimizer:
    """LP-FT's second phase: every stage unfrozen, the probe's head kept, a smaller learning rate."""
    freeze_stages(model, 0)
    inputs.drop_cache()
    return make_optimizer(config.replace(lr=config.lr * config.finetune_lr_scale), model)


def train_one_epoch(inputs, optimizer, train_y, order, config, epoch, autocast, should_stop):
    """Yields BatchProgress (or Cancelled); returns (mean loss, accuracy), or (None, None) if cancelled."""
    inputs.model.train()
    loss_sum = torch.zeros((), device=train_y.device)
    correct = torch.zeros((), device=train_y.device)
    batches = -(-len(order) // config.batch_size)
    for batch in range(1, batches + 1):
        if should_stop():
            yield Cancelled(epoch, batch)
            return None, None
        idx = order[(batch - 1) * config.batch_size : batch * config.batch_size]
        with autocast:
            logits = inputs.logits(idx, "train", training=True)
            loss = F.cross_entropy(logits, train_y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        batch_correct = (logits.argmax(1) == train_y[idx]).sum()
        loss_sum += loss.detach() * len(idx)
        correct += batch_correct
        yield BatchProgress(epoch, config.epochs, batch, batches, loss.item(), batch_correct.item() / len(idx))
    return float(loss_sum) / len(order), float(correct) / len(order)


@torch.no_grad()
def evaluate(inputs: Inputs, val_y: torch.Tensor, autocast, split: str = "val") -> tuple[float, float, torch.Tensor]:
    """Validation loss and accuracy, and every validation image's penultimate features (free to keep:
    the head reads them anyway, and the feature recorder takes its sample from them)."""
    loss_sum, correct, features = 0.0, 0, []
    for start in range(0, len(val_y), EVAL_BATCH):
        idx = torch.arange(start, min(start + EVAL_BATCH, len(val_y)), device=val_y.device)
        with autocast:
            batch_features = inputs.features(idx, split)
            logits = inputs.model.classify(batch_features)
        loss_sum += float(F.cross_entropy(logits.float(), val_y[idx], reduction="sum"))
        correct += int((logits.argmax(1) == val_y[idx]).sum())
        features.append(batch_features)
    return loss_sum / len(val_y), correct / len(val_y), torch.cat(features)
