"""The runner: a fixed number of training slots, a bounded queue, cancel, snapshots, owners.

Jobs run in worker threads. The worker that trains a run writes each event's
record to the run store outside the lock (a slow disk must not stall every page's
snapshot), then records the event into the run's `Job` under the lock, which is
all that live snapshots read. Only a final status is written with the lock held,
so no snapshot shows a run finished before the store says so. Nothing here knows
about the UI. Pages submit, poll `snapshot`, cancel and delete.
"""

from __future__ import annotations  # the classes define a method named list

import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .config import TrainConfig
from .errors import QueueFull, RunNotFound, RunStillLive
from .metrics import EpochMetrics, RunSummary, summarize
from .runs import RunRecord, RunStore
from .train import BatchProgress, Cancelled, Done, EpochRecord, Event, Failed, Started, train

# config, should_stop, and as keywords owner= and store= (the runner's own, for init_from)
TrainFn = Callable[..., Iterator[Event]]


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
    cancel: threading.Event = field(default_factory=threading.Event)


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

    @property
    def finished(self) -> bool:
        return self.status not in ("queued", "running")

    @property
    def summary(self) -> RunSummary | None:
        return summarize(self.metrics)


def batch_row(event: BatchProgress) -> dict:
    """Position in epochs (1.5 = halfway through epoch 2) with the batch's loss and accuracy."""
    step = event.epoch - 1 + event.batch / event.batches
    return {"epoch": step, "loss": event.loss, "accuracy": event.accuracy}


class Runner:
    def __init__(self, store: RunStore, slots: int = 1, max_queue: int = 16, train_fn: TrainFn = train):
        self.store, self.slots, self.max_queue, self.train_fn = store, slots, max_queue, train_fn
        self.interrupted = store.recover_interrupted()
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._waiting: deque[str] = deque()
        self._jobs: dict[str, Job] = {}
        self._closing = False
        self._workers = [
            threading.Thread(target=self._work_loop, daemon=True, name=f"runner-slot-{i}") for i in range(slots)
        ]
        for worker in self._workers:
            worker.start()

    # --- the API pages use --------------------------------------------------------------------
    def submit(self, config: TrainConfig, owner: str) -> str:
        with self._lock:
            if len(self._waiting) >= self.max_queue:
                raise QueueFull(f"{len(self._waiting)} runs are already waiting; try again when one has started.")
            run_id = self.store.create(config, owner)
            self._jobs[run_id] = Job(run_id, owner, config)
            self._waiting.append(run_id)
            self._work.notify()
        return run_id

    def snapshot(self, run_id: str, owner: str | None = None) -> RunSnapshot:
        with self._lock:
            job = self._jobs.get(run_id)
            if job is not None:
                self._check_owner(job.owner, owner, run_id)
                return self._snapshot(job)
        record = self.store.load(run_id)  # a run from earlier, or from another process
        self._check_owner(record.owner, owner, run_id)
        return self._snapshot_of_record(record)

    def cancel(self, run_id: str, owner: str | None = None) -> bool:
        """Cancel a queued or running run; False when it had already finished."""
        with self._lock:
            job = self._jobs.get(run_id)
            if job is None:
                self._check_owner(self.store.load(run_id).owner, owner, run_id)
                return False
            self._check_owner(job.owner, owner, run_id)
            if run_id in self._waiting:
                self._waiting.remove(run_id)
                self._finish(job, "cancelled", "cancelled before it started")
                return True
            job.cancel.set()  # the training loop checks it before every batch
            return job.status == "running"

    def list(self, owner: str) -> list[RunSnapshot]:
        """The owner's runs, newest first: live ones from memory, the rest from the store."""
        return [self._live_or_stored(record) for record in self.store.list(owner)]

    def delete(self, run_id: str, owner: str | None = None) -> None:
        """Remove a finished run from the store and from memory, so no page serves it again."""
        with self._lock:
            job = self._jobs.get(run_id)
            self._check_owner(job.owner if job else self.store.load(run_id).owner, owner, run_id)
            if job is not None and job.status in ("queued", "running"):
                raise RunStillLive(f"run {run_id} is still {job.status}; stop it before deleting it.")
            self.store.delete(run_id)
            self._jobs.pop(run_id, None)

    def close(self) -> None:
        """Cancel everything and stop the workers (tests, shutdown)."""
        with self._lock:
            self._closing = True
            while self._waiting:
                self._finish(self._jobs[self._waiting.popleft()], "cancelled", "the runner was shut down")
            for job in self._jobs.values():
                job.cancel.set()
            self._work.notify_all()
        for worker in self._workers:
            worker.join(timeout=30)

    # --- workers ------------------------------------------------------------------------------
    def _work_loop(self) -> None:
        while True:
            with self._lock:
                while not self._waiting and not self._closing:
                    self._work.wait()
                if self._closing:
                    return
                job = self._jobs[self._waiting.popleft()]
                job.status = "running"
            self.store.update(job.run_id, status="running")
            self._run(job)

    def _run(self, job: Job) -> None:
        try:
            for event in self.train_fn(job.config, job.cancel.is_set, owner=job.owner, store=self.store):
                self._record(job, event)
            with self._lock:
                if job.status == "running":  # the generator ended without a final event
                    self._finish(job, "failed", "training stopped without finishing")
        except Exception as err:  # a failing job must not take the runner down
            with self._lock:
                self._finish(job, "failed", f"{type(err).__name__}: {err}")

    def _record(self, job: Job, event: Event) -> None:
        if isinstance(event, EpochMetrics):
            self.store.append_metrics(job.run_id, event)
        elif isinstance(event, Done):
            self.store.save_weights(job.run_id, event.model.state_dict())
        elif isinstance(event, Started):
            self.store.update(job.run_id, classes=event.classes, fingerprint=event.fingerprint)
        elif isinstance(event, EpochRecord):
            self.store.save_record(job.run_id, event.epoch, event.sample, event.embedding, event.drift)
        with self._lock:
            if isinstance(event, BatchProgress):
                job.progress = event
                job.batches.append(batch_row(event))
            elif isinstance(event, EpochMetrics):
                job.metrics.append(event)
            elif isinstance(event, Started):
                job.classes, job.trainable_parameters = event.classes, event.trainable_parameters
            elif isinstance(event, EpochRecord):
                job.drift.append({"epoch": event.epoch, **event.drift})
            elif isinstance(event, Done):
                self._finish(job, "done", "")
            elif isinstance(event, Cancelled):
                self._finish(job, "cancelled", f"cancelled in epoch {event.epoch} before batch {event.batch}")
            elif isinstance(event, Failed):
                self._finish(job, "failed", event.message)

    def _finish(self, job: Job, status: str, message: str) -> None:
        """Record a final status; call with the lock held."""
        job.status, job.message = status, message
        self.store.update(job.run_id, status=status, message=message)

    def _snapshot(self, job: Job) -> RunSnapshot:
        position = self._waiting.index(job.run_id) + 1 if job.run_id in self._waiting else None
        return RunSnapshot(
            job.run_id, job.owner, job.status, job.config, position, job.progress,
            list(job.metrics), job.message, list(job.classes), job.trainable_parameters, list(job.batches),
            list(job.drift),
        )  # fmt: skip

    def _live_or_stored(self, record: RunRecord) -> RunSnapshot:
        with self._lock:
            job = self._jobs.get(record.run_id)
            if job is not None:
                return self._snapshot(job)
        return self._snapshot_of_record(record)

    def _snapshot_of_record(self, record: RunRecord) -> RunSnapshot:
        return RunSnapshot(
            record.run_id, record.owner, record.status, record.config, None, None,
            record.metrics, record.message, record.classes, drift=self.store.drift(record.run_id),
        )  # fmt: skip

    @staticmethod
    def _check_owner(actual: str, expected: str | None, run_id: str) -> None:
        if expected is not None and actual != expected:
            raise RunNotFound(f"no run {run_id!r}")  # the same answer as for a missing run
