"""The runner: a fixed number of training slots, a bounded queue, cancel, snapshots, owners.

Jobs run in worker threads. The worker that trains a run writes each event's
record to the run store outside the lock (a slow disk must not stall every page's
snapshot), then records the event into the run's `Job` under the lock, which is
all that live snapshots read. Only a final status is written with the lock held,
so no snapshot shows a run finished before the store says so. Nothing here knows
about the UI. Pages submit, poll `snapshot`, cancel and delete.
"""

from __future__ import annotations  # the classes define a method named list

import contextlib
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator

import torch

from transfer_core.config import TrainConfig
from transfer_core.errors import QueueFull, RunDamaged, RunNotFound, RunStillLive, StoreUnavailable, TransferLabError
from transfer_core.messages import cancelled_in, join_said, message_of, say, say_status
from transfer_core.metrics import EpochMetrics
from transfer_core.model_inputs import FeatureProgress, FeaturesReady
from transfer_core.resolve import class_count
from transfer_core.runners.memory_budget import check_budget
from transfer_core.runners.run_state import Compute, Job, Placed, RunSnapshot, cuda_available
from transfer_core.store.features import FeatureStore
from transfer_core.store.runs import LIVE_STATUSES, RunRecord, RunStore
from transfer_core.train import BatchProgress, Cancelled, Done, EpochRecord, Event, Failed, Started, train

# config, should_stop, and as keywords owner=, store= (the runner's own, for init_from) and features=
TrainFn = Callable[..., Iterator[Event]]
FINISHED_KEPT = 64  # finished runs kept in memory (with their live batch points); the store has all
STORE_TROUBLE = say("runner.store_trouble", "the server cannot save runs right now")
RECENT_RUNS = 20  # finished runs whose durations estimate a queued run's wait
ABANDONED_SECONDS = 600.0  # a queued run whose owner has not been seen for this long is not started
SERVED_KEPT = 512  # owners whose last start the fair queue remembers (the most recent ones)


class StoreRefused(Exception):
    """The run store refused to keep a run's event (a full or read-only disk): the run cannot be kept."""


class JobEnded(Exception):
    """The place a job ran in ended it (its process crashed, ran out of memory, or would not stop)."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status = status


class Runner:
    def __init__(
        self,
        store: RunStore,
        slots: int = 1,
        max_queue: int = 64,
        train_fn: TrainFn = train,
        features: FeatureStore | None = None,
        abandoned_seconds: float = ABANDONED_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.store, self.slots, self.max_queue, self.train_fn = store, slots, max_queue, train_fn
        self.features, self.abandoned_seconds = features, abandoned_seconds
        self.clock = clock  # seconds, for waits and closed tabs; tests set their own to be independent of load
        self._seen: dict[str, float] = {}  # owner -> when a page of theirs last asked (self.clock())
        self.interrupted = store.recover_interrupted()
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)
        self._waiting: deque[str] = deque()
        self._jobs: dict[str, Job] = {}
        self._served: dict[str, int] = {}  # owner -> when a run of theirs last started (a counter)
        self._starts = 0
        self._durations: deque[float] = deque(maxlen=RECENT_RUNS)  # seconds recent runs held a slot
        self._closing = False
        self.notice = ""  # what the server's admin should know about where runs train (shown on every page)
        self._workers = [
            threading.Thread(target=self._work_loop, daemon=True, name=f"runner-slot-{i}") for i in range(slots)
        ]
        for worker in self._workers:
            worker.start()

    # --- the API pages use --------------------------------------------------------------------
    def seen(self, owner: str) -> None:
        """A page of this owner's is open (each script run says so): their queued runs are wanted."""
        with self._lock:
            self._seen[owner] = self.clock()

    def submit(self, config: TrainConfig, owner: str, keep: bool = False, background: bool = False) -> str:
        """Queue a run; `keep` starts it even if the owner's tab has gone; `background`: a long experiment's run
        (a race, a layer lab) that the owner's other runs pass. Over the memory budget: refused now."""
        try:
            classes = class_count(config, owner)
        except TransferLabError:
            classes = None  # data it cannot find now: the run fails with that message where it starts
        if classes is not None:
            check_budget(config, classes)
        with self._lock:
            self._seen[owner] = self.clock()
            if len(self._waiting) >= self.max_queue:
                sentence = "{waiting} runs are already waiting; try again in a minute, when some have started."
                raise QueueFull(say("runner.queue_full", sentence, waiting=len(self._waiting)))
            try:
                run_id = self.store.create(config, owner)
            except OSError as err:
                sentence = "{trouble}: {error}. Try again in a minute."
                raise StoreUnavailable(
                    say("runner.store_later", sentence, trouble=STORE_TROUBLE, error=str(err.strerror or err))
                ) from err
            self._jobs[run_id] = Job(run_id, owner, config, keep=keep, background=background)
            self._waiting.append(run_id)
            self._work.notify()
        return run_id

    def snapshot(self, run_id: str, owner: str | None = None) -> RunSnapshot:
        with self._lock:
            if owner is not None:
                self._seen[owner] = self.clock()
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

    def offers_cuda(self) -> bool:
        """Whether a run may ask for CUDA: here, whether this machine has a CUDA GPU."""
        return cuda_available()

    def compute(self) -> Compute:
        """Where runs train: this machine's GPU, else its CPU threads."""
        if cuda_available():
            return Compute("cuda", gpu_name=torch.cuda.get_device_name(0))
        return Compute("cpu", cpu_threads=torch.get_num_threads())

    def list(self, owner: str) -> list[RunSnapshot]:
        """The owner's runs, newest first: live ones from memory, the rest from the store."""
        return [self._live_or_stored(record) for record in self.store.list(owner)]

    def delete(self, run_id: str, owner: str | None = None) -> None:
        """Remove a finished run from the store and from memory, so no page serves it again."""
        with self._lock:
            job = self._jobs.get(run_id)
            self._check_owner(job.owner if job else self.store.load(run_id).owner, owner, run_id)
            if job is not None and job.status in LIVE_STATUSES:
                raise RunStillLive(
                    say(
                        "runner.still_live",
                        "run {run} is still {status}; stop it before deleting it.",
                        run=run_id,
                        status=say_status(job.status),
                    )
                )
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
                self._drop_abandoned()
                if not self._waiting:
                    continue
                job = self._jobs[self._queue_order()[0]]
                self._waiting.remove(job.run_id)
                job.status, job.started = "running", self.clock()
                self._starts += 1
                self._served[job.owner] = self._starts
            try:
                self._run(job)
            except BaseException as err:  # nothing a run does may end this slot: the next run is waiting
                with self._lock:
                    self._finish(job, "failed", f"{type(err).__name__}: {err}")

    def _drop_abandoned(self) -> None:
        """Cancel waiting runs whose owner's tab has not asked about anything for a while: nobody is
        there to see them, and the class behind them waits. Lock held."""
        now = self.clock()
        for run_id in list(self._waiting):
            job = self._jobs[run_id]
            if not job.keep and now - self._seen.get(job.owner, now) > self.abandoned_seconds:
                self._waiting.remove(run_id)
                minutes = self.abandoned_seconds / 60
                self._finish(job, "cancelled", f"not started: its tab was closed (nothing from it for {minutes:g} min)")

    def _queue_order(self) -> list[str]:
        """Waiting runs in the order they will start. The next is of the owner served longest ago, so one
        student's race cannot hold the class behind it; an owner's background runs wait behind their others,
        so a learner's lesson does not wait behind their own race. Lock held."""
        served = dict(self._served)
        order, waiting, tick = [], list(self._waiting), self._starts
        while waiting:
            owner = min((self._jobs[r].owner for r in waiting), key=lambda o: served.get(o, 0))
            theirs = [r for r in waiting if self._jobs[r].owner == owner]
            run_id = min(theirs, key=lambda r: self._jobs[r].background)  # the first of the earliest kind
            waiting.remove(run_id)
            order.append(run_id)
            tick += 1
            served[owner] = tick
        return order

    def _run(self, job: Job) -> None:
        try:
            self.store.update(job.run_id, status="running")
            # closing: whatever ends the loop (a store that refuses a write, too) stops the training at once
            with contextlib.closing(self._events(job)) as events:
                for event in events:
                    self._record(job, event)
            with self._lock:
                if job.status == "running":  # the generator ended without a final event
                    self._finish(job, "failed", "training stopped without finishing")
        except JobEnded as ended:  # the place it ran in ended it (see ProcessRunner), with why
            with self._lock:
                self._finish(job, ended.status, str(ended))
        except RunDamaged as damaged:
            with self._lock:
                self._finish(job, "failed", str(damaged))
        except StoreRefused as refused:  # the run cannot be kept
            with self._lock:
                self._finish(job, "failed", str(refused))
        except Exception as err:  # a failing job must not take the runner down
            with self._lock:
                self._finish(job, "failed", f"{type(err).__name__}: {err}")

    def _events(self, job: Job) -> Iterator[Event]:
        """The run's training events; here, from `train_fn` in this slot's thread."""
        return self.train_fn(job.config, job.cancel.is_set, owner=job.owner, store=self.store, features=self.features)

    def _record(self, job: Job, event: Event) -> None:
        try:
            self._store_event(job, event)
        except OSError as err:  # a full or read-only disk; other failures say what they are
            raise StoreRefused(
                say(
                    "runner.store_refused", "{trouble}: {error}.", trouble=STORE_TROUBLE, error=str(err.strerror or err)
                )
            ) from err
        self._follow_event(job, event)

    def _store_event(self, job: Job, event: Event) -> None:
        if isinstance(event, EpochMetrics):
            self.store.append_metrics(job.run_id, event)
        elif isinstance(event, Done):
            self.store.save_weights(job.run_id, event.weights.state_dict())
        elif isinstance(event, Started):
            trained_on = f"{job.node or socket.gethostname()} · {event.device}"
            self.store.update(job.run_id, classes=event.classes, fingerprint=event.fingerprint, trained_on=trained_on)
        elif isinstance(event, EpochRecord):
            self.store.save_record(job.run_id, event.epoch, event.sample, event.embedding, event.drift)
        elif isinstance(event, FeaturesReady):
            self.store.update(job.run_id, feature_seconds=round(event.seconds, 3))

    def _follow_event(self, job: Job, event: Event) -> None:
        """What snapshots show while the run trains."""
        with self._lock:
            if isinstance(event, Placed):
                job.node, job.pid = event.node, event.pid
            elif isinstance(event, BatchProgress):
                job.progress, job.features = event, None
                job.add_batch(event)
            elif isinstance(event, FeatureProgress):
                job.features = event
            elif isinstance(event, FeaturesReady):
                job.feature_source, job.feature_seconds = event.source, round(event.seconds, 3)  # as the store keeps it
            elif isinstance(event, EpochMetrics):
                job.metrics.append(event)
            elif isinstance(event, Started):
                job.classes, job.trainable_parameters = event.classes, event.trainable_parameters
            elif isinstance(event, EpochRecord):
                job.drift.append({"epoch": event.epoch, **event.drift})
            elif isinstance(event, Done):
                self._finish(job, "done", "")
            elif isinstance(event, Cancelled):
                self._finish(job, "cancelled", cancelled_in(event.epoch, event.batch))
            elif isinstance(event, Failed):
                self._finish(job, "failed", event.message)

    def _finish(self, job: Job, status: str, message: str) -> None:
        """Record a final status; call with the lock held. If the store refuses it, the run is still
        final in memory (with why it was not saved), and the slot goes on to the next run."""
        job.status, job.message = status, message
        if job.started is not None:
            self._durations.append(self.clock() - job.started)
        try:
            self.store.update(job.run_id, status=status, message=message)
        except OSError as err:
            job.status = "failed"
            trouble = say(
                "runner.store_refused", "{trouble}: {error}.", trouble=STORE_TROUBLE, error=str(err.strerror or err)
            )
            job.message = join_said([message, trouble]) if message else trouble
        except RunNotFound:
            pass  # deleted meanwhile
        except RunDamaged as err:  # its record cannot be read: this run fails, the queue goes on
            job.status = "failed"
            damaged = message_of(err)
            job.message = damaged if not message or str(err) in message else join_said([message, damaged])
        self._forget_finished()

    def _forget_finished(self) -> None:
        """Finished runs leave memory, oldest first, beyond the newest FINISHED_KEPT; so do owners the
        runner no longer needs to know, so a server that has seen thousands of students holds only those
        of now. Lock held."""
        finished = [run_id for run_id, job in self._jobs.items() if job.status not in LIVE_STATUSES]
        for run_id in finished[:-FINISHED_KEPT]:
            del self._jobs[run_id]
        self._forget_owners()

    def _forget_owners(self) -> None:
        """When a tab was last seen matters only for its waiting runs, and only within abandoned_seconds:
        an owner without one, seen longer ago, is forgotten (a new run of theirs notes them again). The fair
        queue's memory keeps the SERVED_KEPT owners served most recently: those it forgets were all
        served before any it keeps, and a forgotten owner counts as served longest ago, so the order of
        the queue is the same. Lock held."""
        live_owners = {job.owner for job in self._jobs.values() if job.status in LIVE_STATUSES}
        now = self.clock()
        for owner, seen in list(self._seen.items()):
            if owner not in live_owners and now - seen > self.abandoned_seconds:
                del self._seen[owner]
        if len(self._served) > SERVED_KEPT:
            newest = sorted(self._served.items(), key=lambda item: item[1])[-SERVED_KEPT // 2 :]
            self._served = dict(newest)

    def _snapshot(self, job: Job) -> RunSnapshot:
        order = self._queue_order() if job.run_id in self._waiting else []
        position = order.index(job.run_id) + 1 if order else None
        return RunSnapshot(
            job.run_id, job.owner, job.status, job.config, position, job.progress,
            list(job.metrics), job.message, list(job.classes), job.trainable_parameters, list(job.batches),
            list(job.drift), job.features, job.feature_source, self._wait_seconds(position), job.feature_seconds,
        )  # fmt: skip

    def _wait_seconds(self, position: int | None) -> float | None:
        """About how long a run at this queue place waits: the runs ahead of it, and those training now,
        each as long as recent runs took (their median). 0 when a slot is free for it (it starts now); None
        until a run has finished. Lock held."""
        if position is None:
            return None
        running = [job for job in self._jobs.values() if job.status == "running" and job.started is not None]
        if position <= self.slots - len(running):
            return 0.0
        if not self._durations:
            return None
        typical = sorted(self._durations)[len(self._durations) // 2]
        left_now = sum(max(0.0, typical - (self.clock() - job.started)) for job in running)
        return (left_now + (position - 1) * typical) / self.slots

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
            feature_seconds=record.feature_seconds,
        )  # fmt: skip

    @staticmethod
    def _check_owner(actual: str, expected: str | None, run_id: str) -> None:
        if expected is not None and actual != expected:  # the same answer as for a missing run
            raise RunNotFound(say("runner.no_run", "no run {run}", run=repr(run_id)))
