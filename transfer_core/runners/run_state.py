"""A run as the runner holds it (`Job`: its live progress, bounded batch points, cancel flag) and as
pages read it (`RunSnapshot`); where it trains (`Placed`), and what this machine or cluster offers (`Compute`)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import torch

from transfer_core.config import TrainConfig
from transfer_core.metrics import EpochMetrics, RunSummary, summarize
from transfer_core.model_inputs import FeatureProgress
from transfer_core.store.runs import LIVE_STATUSES
from transfer_core.train import BatchProgress

MAX_BATCH_POINTS = 400  # live per-batch points kept per run; more are thinned evenly


@dataclass(frozen=True)
class Compute:
    """Where a runner's runs train, as facts a page phrases: "cpu" (with its threads), "cuda" (the GPU's
    name) or "ray" (the cluster's machines, CPUs and GPUs)."""

    kind: str
    cpu_threads: int = 0
    gpu_name: str = ""
    machines: int = 0
    cpus: float = 0.0
    gpus: float = 0.0


def cuda_available() -> bool:
    return torch.cuda.is_available()


@dataclass(frozen=True)
class Placed:
    """Where a run trains (sent first by runners whose runs may train on another machine)."""

    node: str
    pid: int


@dataclass
class Job:
    run_id: str
    owner: str
    config: TrainConfig
    status: str = "queued"
    progress: BatchProgress | None = None
    batches: list[dict] = field(default_factory=list)  # one small row per batch, for live curves
    drift: list[dict] = field(default_factory=list)  # per epoch, per stage weight drift
    metrics: list[EpochMetrics] = field(default_factory=list)
    message: str = ""
    classes: list[str] = field(default_factory=list)
    trainable_parameters: int | None = None
    features: FeatureProgress | None = None  # the frozen prefix's feature pass, while it runs
    feature_source: str = ""  # "computed", "stored" (shared with earlier runs), "repaired" or "memory"
    feature_seconds: float = 0.0
    started: float | None = None  # the runner's clock when a slot took it
    keep: bool = False  # start it even if its owner is gone (a layer lab runs unattended)
    background: bool = False  # part of a long experiment: the owner's other waiting runs start first
    node: str = ""  # the machine it trains on, when the runner says (see Placed); else this one
    pid: int | None = None  # the process training it there
    batch_stride: int = 1  # keep every batch_stride-th batch point (grows as points are thinned)
    seen_batches: int = 0
    cancel: threading.Event = field(default_factory=threading.Event)

    def add_batch(self, event: BatchProgress) -> None:
        """Keep at most MAX_BATCH_POINTS points, evenly spread over the run so far."""
        self.seen_batches += 1
        if (self.seen_batches - 1) % self.batch_stride:
            return
        self.batches.append(batch_row(event))
        if len(self.batches) > MAX_BATCH_POINTS:
            self.batches = self.batches[::2]
            self.batch_stride *= 2


@dataclass(frozen=True)
class RunSnapshot:
    run_id: str
    owner: str
    status: str
    config: TrainConfig
    queue_position: int | None  # 1 = next to start; None once it has left the queue
    progress: BatchProgress | None
    metrics: list[EpochMetrics]
    message: str
    classes: list[str]
    trainable_parameters: int | None = None
    batches: list[dict] = field(default_factory=list)  # live batch rows while this process runs it
    drift: list[dict] = field(default_factory=list)  # per epoch: {"epoch": n, stage: relative change}
    features: FeatureProgress | None = None
    feature_source: str = ""
    wait_seconds: float | None = None  # while queued: about how long until it starts, from recent runs
    feature_seconds: float = 0.0  # the frozen stages' feature pass, which the epochs' seconds leave out

    @property
    def finished(self) -> bool:
        return self.status not in LIVE_STATUSES

    @property
    def summary(self) -> RunSummary | None:
        return summarize(self.metrics)


def batch_row(event: BatchProgress) -> dict:
    """Position in epochs (1.5 = halfway through epoch 2) with the batch's loss and accuracy."""
    step = event.epoch - 1 + event.batch / event.batches
    return {"epoch": step, "loss": event.loss, "accuracy": event.accuracy}
