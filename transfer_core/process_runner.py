"""The runner for a shared server: every run trains in a worker process, never in the web server's.

One long-lived worker process per slot (started with `spawn`, which CUDA needs) imports torch once and
trains the runs its slot hands it; the slot's thread in the server forwards each event into the run
store and the runner's snapshots, exactly as the thread runner does. So a crash, an out-of-memory or a
hang ends one run with a message, the worker is started again, and the server and the other runs go on:
- a worker that dies (a segfault, SIGKILL) fails its run: "the worker process stopped (signal 9)";
- a worker whose memory passes the per-job bound is stopped and its run failed, saying so;
- a run asked to stop that does not within the grace period is stopped with its worker.
Torch threads per worker are set so that slots x threads does not exceed the machine's cores.
"""

import contextlib
import os
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection

import torch
import torch.multiprocessing as mp

from . import user_data
from .config import MINE_PREFIX, TrainConfig
from .feature_store import FeatureStore
from .jobs import ABANDONED_SECONDS, Job, JobEnded, Runner, TrainFn
from .runs import RunStore
from .train import Done, Event, Failed, train

GRACE_SECONDS = 10.0  # a cancelled run that sends nothing for this long is stopped with its worker
POLL_SECONDS = 0.2
HEALTH_SECONDS = 5.0  # how often an idle slot's worker is checked, and started again if it has died
END = "end"  # a worker's last message for a run


class SavedWeights:
    """The trained model's weights as plain arrays: what crosses from the worker to the server."""

    def __init__(self, state: dict[str, torch.Tensor]):
        self.arrays = {name: tensor.detach().cpu().numpy() for name, tensor in state.items()}

    def state_dict(self) -> dict[str, torch.Tensor]:
        # A copy: arrays that arrive through Ray's object store are read-only views of it.
        return {name: torch.tensor(array) for name, array in self.arrays.items()}


@dataclass(frozen=True)
class Assignment:
    """One run for a worker: everything `train` needs, in plain values."""

    config_json: str
    owner: str
    store_root: str
    features: FeatureStore | None
    own_dataset: object | None  # a RawDataset the session holds only in the server's memory
    train_fn: Callable  # a module-level function (the worker imports it by name): `train`, or a test's


def worker_main(conn: Connection, stop, threads: int) -> None:
    """A worker process: train each run it is handed, sending every event back, until told to end."""
    torch.set_num_threads(threads)
    while True:
        try:
            assignment = conn.recv()
        except (EOFError, OSError):  # the server has gone without saying goodbye: so does its worker
            return
        if assignment is None:
            return
        for event in assignment_events(assignment, stop.is_set):
            conn.send(event)
        conn.send(END)


def assignment_events(assignment: Assignment, should_stop: Callable[[], bool]) -> Iterator[Event]:
    """Train one assignment where this process runs, yielding events fit to send to the server; a run
    that raises ends in a Failed event, so the process can take the next run."""
    config = TrainConfig.from_json(assignment.config_json)
    if assignment.own_dataset is not None:
        _hold_own_dataset(assignment.owner, config.dataset, assignment.own_dataset)
    try:
        store = RunStore(assignment.store_root)
        events = assignment.train_fn(
            config, should_stop, owner=assignment.owner, store=store, features=assignment.features
        )
        for event in events:
            yield _portable(event)
    except Exception as err:
        yield Failed(f"{type(err).__name__}: {err}")


def _portable(event: Event) -> Event:
    """Events as they cross the pipe: a trained model goes as its weights."""
    if isinstance(event, Done):
        return Done(event.metrics, SavedWeights(event.model.state_dict()), event.seconds)
    return event


def _hold_own_dataset(owner: str, dataset: str, raw) -> None:
    with user_data.MEMORY.lock:
        user_data.MEMORY.datasets.setdefault(owner, {})[dataset.removeprefix(MINE_PREFIX)] = raw


class Worker:
    """A worker process and the pipe and stop flag the server talks to it with."""

    def __init__(self, threads: int):
        context = mp.get_context("spawn")
        self.conn, child = context.Pipe()
        self.stop = context.Event()
        self.process = context.Process(target=worker_main, args=(child, self.stop, threads), daemon=True)
        with _no_main_script():
            self.process.start()
        child.close()

    def alive(self) -> bool:
        return self.process.is_alive()

    def rss_bytes(self) -> int:
        """Resident memory of the worker process (Linux /proc); 0 when it cannot be read."""
        try:
            with open(f"/proc/{self.process.pid}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def kill(self) -> None:
        self.process.kill()
        self.process.join(timeout=10)

    def close(self) -> None:
        with contextlib.suppress(OSError):  # a worker that has died has closed its end
            self.conn.send(None)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.kill()

    def ended_how(self) -> str:
        code = self.process.exitcode
        return f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"


@contextlib.contextmanager
def _no_main_script():
    """`spawn` runs the parent's main script again in the child, and inside Streamlit that is the app
    (Streamlit runs each page as __main__): the worker would start drawing pages. While the worker
    starts, __main__ is an empty module, so the child imports only what it needs."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    # The worker's OpenMP threads sleep while they wait instead of spinning: on a server that also
    # answers every tab, spinning threads burn the cores the pages need (the child reads it at start).
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


class ProcessRunner(Runner):
    """The Runner interface (submit, snapshot, cancel, list, delete), each run in a worker process."""

    def __init__(
        self,
        store: RunStore,
        slots: int = 1,
        max_queue: int = 64,
        features: FeatureStore | None = None,
        memory_mb: int = 4096,
        train_fn: TrainFn = train,
        grace_seconds: float = GRACE_SECONDS,
        abandoned_seconds: float = ABANDONED_SECONDS,
    ):
        self.memory_bytes, self.grace_seconds = memory_mb * 1024**2, grace_seconds
        # The cores this server may use (a container's or taskset's CPU set), not the machine's.
        self.threads = max(1, len(os.sched_getaffinity(0)) // slots)
        # Started now, so the first run does not wait for a worker to import torch.
        self._workers_by_slot = {f"runner-slot-{i}": Worker(self.threads) for i in range(slots)}
        self._busy: set[str] = set()  # slots training a run now
        self._health = threading.Event()  # set to stop the health check
        super().__init__(
            store, slots=slots, max_queue=max_queue, train_fn=train_fn, features=features,
            abandoned_seconds=abandoned_seconds,
        )  # fmt: skip
        threading.Thread(target=self._check_health, daemon=True, name="worker-health").start()

    def _worker(self) -> Worker:
        """This slot's worker, started again if it has died."""
        slot = threading.current_thread().name
        with self._lock:
            self._busy.add(slot)
            worker = self._workers_by_slot.get(slot)
            if worker is None or not worker.alive():
                worker = self._workers_by_slot[slot] = Worker(self.threads)
        return worker

    def worker_pids(self) -> dict[str, int | None]:
        """{slot: pid of its worker process, or None while it is not running}."""
        with self._lock:
            return {slot: w.process.pid if w.alive() else None for slot, w in self._workers_by_slot.items()}

    def _check_health(self) -> None:
        """An idle slot whose worker has died (killed, out of memory) gets a new one before its next run."""
        while not self._health.wait(HEALTH_SECONDS):
            with self._lock:
                for slot, worker in self._workers_by_slot.items():
                    if slot not in self._busy and not worker.alive():
                        self._workers_by_slot[slot] = Worker(self.threads)

    def _events(self, job: Job):
        try:
            yield from self._worker_events(job)
        finally:
            with self._lock:
                self._busy.discard(threading.current_thread().name)

    def _worker_events(self, job: Job):
        worker = self._worker()
        worker.stop.clear()
        worker.conn.send(Assignment(job.config.to_json(), job.owner, str(self.store.root), self.features,
                                    _own_dataset(job), self.train_fn))  # fmt: skip
        asked_to_stop = None
        while True:
            if job.cancel.is_set() and asked_to_stop is None:
                worker.stop.set()  # the training loop checks it before every batch
                asked_to_stop = time.monotonic()
            if asked_to_stop is not None and time.monotonic() - asked_to_stop > self.grace_seconds:
                worker.kill()
                raise JobEnded("cancelled", f"stopped after {self.grace_seconds:g} s without answering the stop")
            if worker.rss_bytes() > self.memory_bytes:
                worker.kill()
                raise JobEnded(
                    "failed",
                    f"the run needed more than {self.memory_bytes // 1024**2} MB of memory, this server's bound "
                    "per run (TRANSFER_LAB_RUN_MEMORY_MB): choose fewer images per class or a smaller image size.",
                )
            if not worker.conn.poll(POLL_SECONDS):
                if not worker.alive():
                    raise JobEnded("failed", f"the worker process training this run stopped ({worker.ended_how()})")
                continue
            try:
                message = worker.conn.recv()
            except (EOFError, OSError):
                worker.process.join(timeout=5)
                raise JobEnded(
                    "failed", f"the worker process training this run stopped ({worker.ended_how()})"
                ) from None
            if message == END:
                return
            yield message

    def close(self) -> None:
        self._health.set()
        super().close()
        for worker in self._workers_by_slot.values():
            worker.close()


def _own_dataset(job: Job):
    """A session dataset that lives only in the server's memory travels with its run."""
    if not job.config.dataset.startswith(MINE_PREFIX):
        return None
    return user_data.session_datasets(job.owner).get(job.config.dataset.removeprefix(MINE_PREFIX))
