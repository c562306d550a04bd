"""The runner for a school's cluster: every run is a Ray task, placed wherever Ray finds its resources.

The web server stays the only thing users reach; it is Ray's driver. Each run is a streaming generator
task asking for `cpus_per_run` CPUs, and a GPU when its config asks for CUDA (so it lands on a GPU node
and trains there with mixed precision; a CPU run never holds a GPU and never touches one). Its events
stream back while it trains and are recorded by the server exactly as the other runners record theirs,
so the run store, snapshots and pages cannot tell where a run trained, except for its "trained on" line.

Ray's resources are the concurrency limit: the runner keeps as many runs in flight as the cluster has
room for (one slot thread each, waiting on its task's events); the app's queue bound, per-owner
fairness and owner checks apply before anything reaches Ray. Cancel asks Ray to interrupt the task
(it stops within the batch it is in); a task that does not stop within the grace period is killed.
A worker or node lost mid-run fails the run with a message.

Files: the server writes the run store itself. A task reads the shared feature store, a saved own
dataset and earlier runs' weights (init_from) from TRANSFER_LAB_HOME, so on several machines that
folder must be on a filesystem every node mounts at the same path (NFS); on one machine it simply is.
"""

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import ray
from ray.exceptions import RayError, TaskCancelledError

from transfer_core.config import TrainConfig
from transfer_core.errors import ConfigError, TransferLabError
from transfer_core.messages import cancelled_in, say
from transfer_core.runners.processes import GRACE_SECONDS, Assignment, assignment_messages, own_dataset
from transfer_core.runners.remote import Ended, Sent, remote_events
from transfer_core.runners.run_state import Compute, Job, Placed
from transfer_core.runners.runner import ABANDONED_SECONDS, JobEnded, Runner, TrainFn
from transfer_core.store.features import FeatureStore
from transfer_core.store.runs import RunStore
from transfer_core.train import Event, train

RESOURCES_SECONDS = 10.0
LOST = "the Ray worker training this run was lost ({why}); its machine may have gone down. Launch it again."


@ray.remote(max_retries=0)  # a lost run is reported, not silently started again from scratch
def train_on_ray(assignment: Assignment, threads: int, device: str) -> Iterator[Sent | Ended]:
    """Where Ray placed it: say where, then train on `device` and stream every event back."""
    import torch

    torch.set_num_threads(threads)
    yield Sent(assignment.run_id, Placed(node=socket.gethostname(), pid=os.getpid()))
    config = TrainConfig.from_json(assignment.config_json).replace(device=device)
    # Nothing asks it to stop between batches: Ray's cancel interrupts it where it is.
    yield from assignment_messages(replace(assignment, config_json=config.to_json()), lambda: False)


def start_ray(address: str | None = None, num_cpus: int | None = None, num_gpus: int | None = None,
              object_store_mb: int = 512) -> None:  # fmt: skip
    """Join the cluster at `address` (RAY_ADDRESS), or start a Ray on this machine for trying it: without
    a dashboard (Ray's dashboard and job API accept anyone who can reach them), with a small object
    store (a run's events and weights are megabytes, not the default's third of the memory)."""
    if address:
        check_reachable(address)
    if ray.is_initialized():
        return
    quiet = {"log_to_driver": False, "configure_logging": False}
    if address:
        ray.init(address=address, **quiet)
        return
    options = {"num_cpus": num_cpus, "num_gpus": num_gpus, "include_dashboard": False,
               "object_store_memory": object_store_mb * 1024**2, **quiet}  # fmt: skip
    if threading.current_thread() is threading.main_thread():
        ray.init(**options)
        return
    # Ray's own processes are told to die with the thread that started them (Linux's parent-death
    # signal follows the thread), and a page's script thread ends with every page run: start them from
    # a thread that lives as long as the server.
    started, failure = threading.Event(), []
    threading.Thread(target=_keep_ray, args=(options, started, failure), daemon=True, name="ray-keeper").start()
    started.wait()
    if failure:
        raise failure[0]


def _keep_ray(options: dict, started: threading.Event, failure: list) -> None:
    try:
        ray.init(**options)
    except Exception as err:
        failure.append(err)
    started.set()
    threading.Event().wait()  # for ever: this thread's life is the local Ray's


def check_reachable(address: str, timeout: float = 3.0) -> None:
    """RayUnreachable unless the head at host:port answers now: Ray's own connect waits minutes, and the
    web server must not hang while it starts."""
    if address == "auto":  # a Ray started on this machine, found through its session files
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except (OSError, ValueError) as err:
        why = err.strerror if isinstance(err, OSError) and err.strerror else type(err).__name__
        raise RayUnreachable(
            say("ray.unreachable", "the Ray cluster at {address} does not answer ({why})", address=address, why=why)
        ) from err


_resources: tuple[float, dict] = (0.0, {})  # (when asked, what Ray said)


def cluster_resources() -> dict:
    """The cluster's resources, asked of Ray at most every RESOURCES_SECONDS: every page shows them."""
    global _resources
    asked, resources = _resources
    if time.monotonic() - asked > RESOURCES_SECONDS:
        _resources = (time.monotonic(), ray.cluster_resources())
    return _resources[1]


def cluster_gpus() -> float:
    return cluster_resources().get("GPU", 0.0)


class RayUnreachable(TransferLabError):
    """RAY_ADDRESS names a cluster that does not answer."""


class RayRunner(Runner):
    """The Runner interface (submit, snapshot, cancel, list, delete), each run a task on a Ray cluster."""

    def __init__(
        self,
        store: RunStore,
        slots: int | None = None,
        max_queue: int = 64,
        features: FeatureStore | None = None,
        cpus_per_run: float = 1,
        gpus_per_run: float = 1,
        train_fn: TrainFn = train,
        grace_seconds: float = GRACE_SECONDS,
        abandoned_seconds: float = ABANDONED_SECONDS,
    ):
        self.cpus_per_run, self.gpus_per_run, self.grace_seconds = cpus_per_run, gpus_per_run, grace_seconds
        if slots is None:  # as many runs in flight as the cluster has CPUs for
            slots = max(1, int(cluster_resources().get("CPU", 1) // cpus_per_run))
        super().__init__(
            store, slots=slots, max_queue=max_queue, train_fn=train_fn, features=features,
            abandoned_seconds=abandoned_seconds,
        )  # fmt: skip

    def submit(self, config: TrainConfig, owner: str, keep: bool = False, background: bool = False) -> str:
        """As every runner's, and a run that asks for CUDA where no machine has a GPU is refused now:
        Ray would keep it waiting for one for ever."""
        if config.device == "cuda" and not self.offers_cuda():
            raise ConfigError(
                "device", say("ray.no_gpu", "no machine in the Ray cluster has a GPU: choose auto or cpu.")
            )
        return super().submit(config, owner, keep, background)

    def offers_cuda(self) -> bool:
        return cluster_gpus() > 0

    def compute(self) -> Compute:
        resources = cluster_resources()
        machines = sum(key.startswith("node:") and key != "node:__internal_head__" for key in resources)
        return Compute("ray", machines=machines, cpus=resources.get("CPU", 0), gpus=resources.get("GPU", 0))

    def _events(self, job: Job) -> Iterator[Event]:
        wants_gpu = job.config.device == "cuda"
        assignment = Assignment(job.run_id, job.config.to_json(), job.owner, str(self.store.root), self.features,
                                own_dataset(job), self.train_fn)  # fmt: skip
        task = train_on_ray.options(num_cpus=self.cpus_per_run, num_gpus=self.gpus_per_run if wants_gpu else 0).remote(
            assignment, max(1, int(self.cpus_per_run)), "cuda" if wants_gpu else "cpu"
        )
        return remote_events(job, RayTask(task, job), self.grace_seconds, clock=self.clock)


class RayTask:
    """One run as a Ray task, as the remote-run loop talks to it (see remote.Remote)."""

    def __init__(self, task, job: Job):
        self.task, self.job, self.stopping = task, job, False
        self.over = False  # Ray has said the task ended: cancelling it now would only race its end

    def next_message(self, timeout: float) -> Sent | Ended | None:
        try:
            ready, _ = ray.wait([self.task], timeout=timeout)
            if not ready:
                return None
            try:
                ref = next(self.task)
            except StopIteration:
                self.over = True
                return Ended(self.job.run_id)
            return ray.get(ref)
        except TaskCancelledError:
            self.over = True
            raise JobEnded("cancelled", cancelled_where(self.job)) from None
        except RayError as err:
            self.over = True
            if self.stopping:
                raise JobEnded("cancelled", cancelled_where(self.job)) from None
            raise JobEnded("failed", say("ray.lost", LOST, why=type(err).__name__)) from None

    def stop(self) -> None:
        self.stopping = True
        ray.cancel(self.task)  # interrupts the task where it is, inside the current batch

    def kill(self) -> None:
        if not self.over:
            ray.cancel(self.task, force=True)  # ends its worker process: nothing of the run goes on

    def memory_bytes(self) -> int:
        return 0  # Ray's own memory monitor guards its nodes


def cancelled_where(job: Job) -> str:
    if job.progress is None:
        return say("ray.cancelled_first", "cancelled before its first batch")
    return cancelled_in(job.progress.epoch, job.progress.batch + 1)
