"""The runner for a shared server: every run trains in a worker process, never in the web server's.

One long-lived worker process per slot (a fresh interpreter, as CUDA needs) imports torch once and
trains the runs its slot hands it; the slot's thread in the server forwards each event into the run
store and the runner's snapshots, exactly as the thread runner does. So a crash, an out-of-memory or a
hang ends one run with a message, the worker is started again, and the server and the other runs go on:
- a worker that dies (a segfault, SIGKILL) fails its run: "the worker process stopped (signal 9)";
- a worker whose memory passes the per-job bound is stopped and its run failed, saying so;
- a run asked to stop that does not within the grace period is stopped with its worker.
Torch threads per worker are set so that slots x threads does not exceed the machine's cores.
"""

import contextlib
import mmap
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection

import torch

from transfer_core.config import MINE_PREFIX, TrainConfig
from transfer_core.data import session_memory, user_data
from transfer_core.messages import say
from transfer_core.runners.remote import Ended, Sent, remote_events
from transfer_core.runners.run_state import Job
from transfer_core.runners.runner import ABANDONED_SECONDS, JobEnded, Runner, TrainFn
from transfer_core.store.features import FeatureStore
from transfer_core.store.runs import RunStore
from transfer_core.train import Event, Failed, train

GRACE_SECONDS = 10.0  # a cancelled run that sends nothing for this long is stopped with its worker
HEALTH_SECONDS = 5.0  # how often an idle slot's worker is checked, and started again if it has died


@dataclass(frozen=True)
class Assignment:
    """One run for a worker: everything `train` needs, in plain values."""

    run_id: str  # named by every message the run sends back
    config_json: str
    owner: str
    store_root: str
    features: FeatureStore | None
    own_dataset: object | None  # a RawDataset the session holds only in the server's memory
    train_fn: Callable  # a module-level function (the worker imports it by name): `train`, or a test's


def worker_main(conn: Connection, stop, threads: int) -> None:
    """A worker process: train each run it is handed, sending every event back, until told to end."""
    torch.set_num_threads(threads)
    warm_up()
    while True:
        try:
            assignment = conn.recv()
        except (EOFError, OSError):  # the server has gone without saying goodbye: so does its worker
            return
        if assignment is None:
            return
        try:
            for message in assignment_messages(assignment, stop.is_set):
                conn.send(message)
        except OSError:  # the server went away mid-run (a broken pipe): the worker ends quietly with it
            return


def warm_up() -> None:
    """What a worker pays once, paid when the server starts rather than at a student's first click: on a
    GPU, CUDA's context (seconds) and the first convolution's kernel choice. The engine is imported already."""
    if torch.cuda.is_available():
        images = torch.randn(8, 3, 64, 64, device="cuda")
        with torch.autocast("cuda", dtype=torch.bfloat16):
            torch.nn.functional.conv2d(images, torch.randn(16, 3, 3, 3, device="cuda")).sum().item()


def assignment_messages(assignment: Assignment, should_stop: Callable[[], bool]) -> Iterator[Sent | Ended]:
    """Train one assignment where this process runs: every event, named by its run and fit to send to the
    server, then Ended. A run that raises ends in a Failed event, so the process can take the next run;
    the session's dataset it brought is dropped when it ends, however it ends."""
    config = TrainConfig.from_json(assignment.config_json)
    try:
        with _holding(assignment.owner, config.dataset, assignment.own_dataset):
            store = RunStore(assignment.store_root)
            events = assignment.train_fn(
                config, should_stop, owner=assignment.owner, store=store, features=assignment.features
            )
            for event in events:
                yield Sent(assignment.run_id, event)
    except Exception as err:
        yield Sent(
            assignment.run_id, Failed(say("worker.crashed", "{kind}: {error}", kind=type(err).__name__, error=str(err)))
        )
    yield Ended(assignment.run_id)


@contextlib.contextmanager
def _holding(owner: str, dataset: str, raw) -> Iterator[None]:
    """A session's in-memory dataset, where this worker's training reads datasets, for one run only: a
    long-lived worker serves every student, and must keep no one's data (nor an old copy of it)."""
    if raw is None:
        yield
        return
    name = dataset.removeprefix(MINE_PREFIX)
    with session_memory.MEMORY.lock:
        session_memory.MEMORY.datasets.setdefault(owner, {})[name] = raw
    try:
        yield
    finally:
        with session_memory.MEMORY.lock:
            held = session_memory.MEMORY.datasets.get(owner, {})
            held.pop(name, None)
            if not held:
                session_memory.MEMORY.datasets.pop(owner, None)


class StopFlag:
    """One byte that the server and a worker both map (a Linux memfd): the server sets it to stop the run
    in hand, the worker's training loop reads it before every batch."""

    def __init__(self, fd: int | None = None):
        if fd is None:
            fd = os.memfd_create("transfer-lab-stop")
            os.ftruncate(fd, 1)
        self.fd = fd
        self._byte = mmap.mmap(fd, 1)

    def set(self) -> None:
        self._byte[0] = 1

    def clear(self) -> None:
        self._byte[0] = 0

    def is_set(self) -> bool:
        return self._byte[0] == 1


class Worker:
    """A worker process and the connection and stop flag the server talks to it with.

    It is a plain `python -c` process that imports only what it needs. multiprocessing's spawn would run
    the parent's __main__ again in the child, and inside Streamlit that is a page: it could only be kept
    out by swapping the process-wide sys.modules["__main__"] while every tab's thread runs."""

    def __init__(self, threads: int):
        ours, theirs = socket.socketpair()
        self.stop = StopFlag()
        environment = os.environ | {
            "PYTHONPATH": os.pathsep.join(path for path in sys.path if path),  # the server's imports, tests' too
            # Its OpenMP threads sleep while they wait instead of spinning: on a server that also answers
            # every tab, spinning threads burn the cores the pages need.
            "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY", "PASSIVE"),
        }
        entry = f"worker_entry({theirs.fileno()}, {self.stop.fd}, {threads})"
        command = f"from transfer_core.runners.processes import worker_entry; {entry}"
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-c", command], pass_fds=(theirs.fileno(), self.stop.fd), env=environment
            )
        os.close(self.stop.fd)  # the map keeps what it needs
        self.conn = Connection(ours.detach())

    def alive(self) -> bool:
        return self.process.poll() is None

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

    def wait(self, timeout: float) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout)

    def kill(self) -> None:
        self.process.kill()
        self.wait(10)

    def close(self) -> None:
        with contextlib.suppress(OSError):  # a worker that has died has closed its end
            self.conn.send(None)
        self.wait(5)
        if self.alive():
            self.kill()
        self.conn.close()

    def ended_how(self) -> str:
        code = self.process.poll()
        return f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"


def worker_entry(conn_fd: int, stop_fd: int, threads: int) -> None:
    """Where a worker process starts (see Worker): its end of the connection and of the stop flag."""
    threading.Thread(target=_end_with_the_server, args=(os.getppid(),), daemon=True).start()
    worker_main(Connection(conn_fd), StopFlag(stop_fd), threads)


def _end_with_the_server(server_pid: int) -> None:
    """A worker whose server has gone ends too, even in the middle of a run nobody will read."""
    while os.getppid() == server_pid:
        time.sleep(1)
    os._exit(0)


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

    def _events(self, job: Job) -> Iterator[Event]:
        slot, worker = threading.current_thread().name, self._worker()
        try:
            worker.stop.clear()
            assignment = Assignment(job.run_id, job.config.to_json(), job.owner, str(self.store.root),
                                    self.features, own_dataset(job), self.train_fn)  # fmt: skip
            try:
                worker.conn.send(assignment)
            except OSError:  # it died after the health check looked
                raise JobEnded("failed", worker_stopped(worker)) from None
            yield from remote_events(job, WorkerRun(worker), self.grace_seconds, self.memory_bytes, self.clock)
        finally:
            self._after_run(slot, worker)

    def _after_run(self, slot: str, worker: Worker) -> None:
        """The slot is free again. A worker that has kept memory from its runs (past half the bound, while
        idle) is started afresh, so what one student's run left behind never costs the next one."""
        recycle = worker.alive() and worker.rss_bytes() > self.memory_bytes // 2
        if recycle:
            worker.close()
        with self._lock:
            if recycle:
                self._workers_by_slot[slot] = Worker(self.threads)
            self._busy.discard(slot)

    def close(self) -> None:
        self._health.set()
        super().close()
        for worker in self._workers_by_slot.values():
            worker.close()


class WorkerRun:
    """One run in a worker process, as the remote-run loop talks to it (see remote.Remote)."""

    def __init__(self, worker: Worker):
        self.worker = worker

    def next_message(self, timeout: float) -> Sent | Ended | None:
        try:
            if not self.worker.conn.poll(timeout):
                if not self.worker.alive():
                    raise JobEnded("failed", worker_stopped(self.worker))
                return None
            return self.worker.conn.recv()
        except (EOFError, OSError):
            self.worker.wait(5)
            raise JobEnded("failed", worker_stopped(self.worker)) from None

    def stop(self) -> None:
        self.worker.stop.set()  # the training loop checks it before every batch

    def kill(self) -> None:
        self.worker.kill()

    def memory_bytes(self) -> int:
        return self.worker.rss_bytes()


def worker_stopped(worker: Worker) -> str:
    return say("worker.stopped", "the worker process training this run stopped ({how})", how=worker.ended_how())


def own_dataset(job: Job):
    """A session dataset that lives only in the server's memory travels with its run."""
    if not job.config.dataset.startswith(MINE_PREFIX):
        return None
    return user_data.session_datasets(job.owner).get(job.config.dataset.removeprefix(MINE_PREFIX))
