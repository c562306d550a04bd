"""The training loop, as a generator of small events.

`train(config)` yields Started, BatchProgress after every batch, EpochMetrics and
EpochRecord (features and weight drift) after every epoch, then Done (with the
trained model), Cancelled or Failed. The caller owns the loop: it can record
events, draw them, or stop asking.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from transfer_core.analysis.representations import parameter_snapshot, weight_drift
from transfer_core.config import TrainConfig
from transfer_core.errors import TransferLabError
from transfer_core.messages import message_of
from transfer_core.metrics import EpochMetrics
from transfer_core.model_inputs import FeatureProgress, FeaturesReady, Inputs, evaluate
from transfer_core.models.strategies import TransferModel, count_parameters, freeze_stages, param_groups
from transfer_core.resolve import resolve
from transfer_core.store.features import FeatureStore
from transfer_core.store.runs import RunStore

RECORD_SAMPLE = 256  # validation images whose features are recorded every epoch


@dataclass(frozen=True)
class BatchProgress:
    epoch: int  # 1-based
    epochs: int
    batch: int  # 1-based
    batches: int
    loss: float
    accuracy: float  # on this batch, in training mode


@dataclass(frozen=True)
class Started:
    classes: list[str]
    trainable_parameters: int
    total_parameters: int
    device: str
    cached_prefix: bool
    fingerprint: dict  # what identifies the data (see resolve.fingerprint)


@dataclass(frozen=True)
class EpochRecord:
    """What the features and weights look like after an epoch (epoch 0: before training)."""

    epoch: int
    sample: np.ndarray  # indices into the validation split, the same every epoch
    embedding: np.ndarray  # float16 (len(sample), D): penultimate features of those images
    drift: dict[str, float]  # per stage: relative L2 distance of its weights from the start


class SavedWeights:
    """A trained model's weights as plain arrays, the same in every runner: they cross a pipe to a worker's
    server, or Ray's object store, as they are."""

    def __init__(self, state: dict[str, torch.Tensor]):
        self.arrays = {name: tensor.detach().cpu().numpy() for name, tensor in state.items()}

    def state_dict(self) -> dict[str, torch.Tensor]:
        # A copy: arrays that arrive through Ray's object store are read-only views of it.
        return {name: torch.tensor(array) for name, array in self.arrays.items()}


@dataclass(frozen=True)
class Done:
    metrics: EpochMetrics
    weights: SavedWeights  # the trained model's, on the CPU
    seconds: float


@dataclass(frozen=True)
class Cancelled:
    epoch: int
    batch: int


@dataclass(frozen=True)
class Failed:
    message: str


Event = (
    Started | FeatureProgress | FeaturesReady | BatchProgress | EpochMetrics | EpochRecord | Done | Cancelled | Failed
)


def make_optimizer(config: TrainConfig, model: TransferModel) -> torch.optim.Optimizer:
    groups = param_groups(model, config.lr, config.stage_lr_decay)
    # On CUDA, PyTorch's fused kernels update every parameter in one launch instead of several per tensor;
    # on the CPU its default (for-each) path is the one measured and tested against the exported scripts.
    fused = {"fused": True} if next(model.parameters()).is_cuda else {}
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=0.9, weight_decay=config.weight_decay, **fused)
    optimizer_class = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    return optimizer_class(groups, lr=config.lr, weight_decay=config.weight_decay, **fused)


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


def train(
    config: TrainConfig,
    should_stop: Callable[[], bool] = lambda: False,
    cache_prefix: bool = True,
    record: bool = True,
    owner: str | None = None,
    store: RunStore | None = None,
    features: FeatureStore | None = None,
) -> Iterator[Event]:
    """Train the model `config` describes; expected problems end in Failed with advice.

    `should_stop` is asked before every batch and during the feature pass; `cache_prefix=False`
    recomputes frozen stages every batch (the reference the cache is measured and tested against);
    `record=False` skips the EpochRecords; `owner` resolves the session's own (`mine:`) dataset and
    weights, `store` the run that `init_from` names, and `features` shares frozen-prefix outputs
    with every other run that needs the same ones."""
    try:
        run = resolve(config, owner, store)
        inputs = Inputs(run.model, run.data, config, run.device, cache_prefix)
    except TransferLabError as err:
        yield Failed(message_of(err))
        return
    model, device = run.model, run.device
    optimizer = make_optimizer(config, model)
    trainable, total = count_parameters(model, True), count_parameters(model)
    yield Started(run.data.classes, trainable, total, str(device), inputs.cacheable, run.fingerprint)
    if inputs.cacheable:
        salt = run.fingerprint["owner"]  # private data's features are never shared across owners
        filling = inputs.fill_cache(features, salt)
        ready = yield from _stoppable(filling, should_stop)
        if ready is None:
            yield Cancelled(1, 1)
            return
        yield ready
    shuffle = torch.Generator().manual_seed(config.seed)
    train_y = inputs.y["train"]
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else nullcontext()
    recorder = FeatureRecorder(inputs, len(inputs.y["val"]), config.seed) if record else None
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
        validation = evaluate(inputs, "val", autocast)
        shift_acc = evaluate(inputs, "shift", autocast).accuracy if "shift" in inputs.x else None
        seconds = time.perf_counter() - epoch_start
        metrics = EpochMetrics(
            epoch, train_loss, train_acc, validation.loss, validation.accuracy, seconds,
            len(train_y) / train_seconds, shift_acc,
        )  # fmt: skip
        yield metrics
        if recorder:
            yield recorder.record(epoch, validation.features)
    yield Done(metrics, SavedWeights(model.state_dict()), time.perf_counter() - started)


def _stoppable(events: Iterator, should_stop: Callable[[], bool]):
    """Pass events on until `should_stop`; returns the generator's value, or None when stopped."""
    while True:
        if should_stop():
            events.close()  # releases a feature-store lock it may hold
            return None
        try:
            yield next(events)
        except StopIteration as done:
            return done.value


def start_fine_tuning(model: TransferModel, inputs: Inputs, config: TrainConfig) -> torch.optim.Optimizer:
    """LP-FT's second phase: every stage unfrozen, the probe's head kept, a smaller learning rate."""
    freeze_stages(model, 0)
    inputs.drop_cache()
    return make_optimizer(config.replace(lr=config.lr * config.finetune_lr_scale), model)


def train_one_epoch(inputs, optimizer, train_y, order, config, epoch, autocast, should_stop):
    """Yields BatchProgress (or Cancelled); returns (mean loss, accuracy), or (None, None) if cancelled.

    A batch's progress is read back after the next batch has been queued: on a GPU, reading a loss waits for
    the chip, and reading the previous one leaves the next batch's work queued behind it, so the chip never
    idles for the report. The values are the same; each report comes one batch later."""
    inputs.model.train()
    loss_sum = torch.zeros((), device=train_y.device)
    correct = torch.zeros((), device=train_y.device)
    batches = -(-len(order) // config.batch_size)
    pending = None  # (batch, its loss, its correct count, its size): not read back yet
    for batch in range(1, batches + 1):
        if should_stop():
            yield from _reported(pending, epoch, config.epochs, batches)
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
        yield from _reported(pending, epoch, config.epochs, batches)
        pending = (batch, loss.detach(), batch_correct, len(idx))
    yield from _reported(pending, epoch, config.epochs, batches)
    return float(loss_sum) / len(order), float(correct) / len(order)


def _reported(pending, epoch: int, epochs: int, batches: int) -> Iterator[BatchProgress]:
    if pending is not None:
        batch, loss, correct, size = pending
        yield BatchProgress(epoch, epochs, batch, batches, loss.item(), correct.item() / size)
