"""A class pressing "Start the default lab" in the same minute, through the runner; prints figures,
passes or fails nothing. Loopback only: everything runs in this process against a temporary store.

    .venv/bin/python -m bench.classroom [--runner threads|processes|ray] [--students 30] [--within 5] [--slots 1]
    .venv/bin/python -m bench.classroom --runner ray --ray-cpus-per-run 1   # a local Ray node; slots from its CPUs
    .venv/bin/python -m bench.classroom --no-feature-store     # every run computes its own features
    .venv/bin/python -m bench.classroom --device cuda --finetune --slots 4   # full fine-tunes sharing one GPU

Prints: accepted, refused, finished, lost (accepted but never finished: must be 0), seconds from the
first submission to each run's first live point and to its finish (median, 95th percentile, last),
feature passes computed, and the process's peak memory (with Ray: Ray's own processes' too, and how
long Ray took to start).
"""

import argparse
import os
import random
import resource
import statistics
import tempfile
import threading
import time
from pathlib import Path

from transfer_core.config import TrainConfig
from transfer_core.errors import QueueFull
from transfer_core.runners.processes import ProcessRunner
from transfer_core.runners.runner import Runner
from transfer_core.store.features import FeatureStore
from transfer_core.store.runs import RunStore

POLL_SECONDS = 0.05


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def describe(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: none"
    return (
        f"{name}: median {statistics.median(values):.1f} s, 95th percentile {percentile(values, 0.95):.1f} s, "
        f"last {max(values):.1f} s"
    )


def watch(runner: Runner, run_ids: list[str], submitted: threading.Event, started: float, deadline: float, out: dict):
    """Seconds from the start to each run's first live point and to its finish, as a student's tab sees it.
    `run_ids` grows while the students submit; the watch ends when all have finished (or at the deadline)."""
    first_point, finished = out.setdefault("first_point", {}), out.setdefault("finished", {})
    while not (submitted.is_set() and len(finished) == len(run_ids)) and time.monotonic() < deadline:
        for run_id in list(run_ids):
            if run_id in finished:
                continue
            snapshot = runner.snapshot(run_id)
            if run_id not in first_point and (snapshot.batches or snapshot.features is not None):
                first_point[run_id] = time.monotonic() - started
            if snapshot.finished:
                finished[run_id] = (time.monotonic() - started, snapshot.status, snapshot.feature_source)
        time.sleep(POLL_SECONDS)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--within", type=float, default=5.0, help="seconds over which the students press Start")
    parser.add_argument("--slots", type=int, default=1)
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="where each run trains")
    parser.add_argument("--finetune", action="store_true", help="full fine-tunes (every stage trains), not probes")
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--no-feature-store", action="store_true")
    parser.add_argument("--runner", choices=("threads", "processes", "ray"), default="threads")
    parser.add_argument("--ray-cpus-per-run", type=float, help="Ray: CPUs each run asks for; slots follow the node")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as home:
        features = None if args.no_feature_store else FeatureStore(Path(home) / "features", 2 * 1024**3)
        store = RunStore(Path(home) / "runs")
        runner = make_runner(args, store, features)
        ray_memory = RayMemory() if args.runner == "ray" else None
        offsets = sorted(random.Random(0).uniform(0, args.within) for _ in range(args.students))
        accepted, refused, seen, submitted = [], 0, {}, threading.Event()
        started = time.monotonic()
        watcher = threading.Thread(
            target=watch, args=(runner, accepted, submitted, started, started + args.timeout, seen)
        )
        watcher.start()
        for student, offset in enumerate(offsets):
            time.sleep(max(0.0, started + offset - time.monotonic()))
            try:
                accepted.append(runner.submit(student_config(args), f"student-{student}"))
            except QueueFull:
                refused += 1
        submitted.set()
        watcher.join()
        runner.close()
        if ray_memory is not None:
            ray_memory.stop()
    first_point, finished = seen["first_point"], seen["finished"]

    done = [seconds for seconds, status, _ in finished.values() if status == "done"]
    store_state = "off" if features is None else "on"
    what = f"{args.runner} runner, {runner.slots} slot(s), features {store_state}"
    print(f"{args.students} students, default lab, {what}")
    print(f"accepted {len(accepted)}, refused {refused}, finished {len(done)}, lost {len(accepted) - len(finished)}")
    print(describe("first live point", list(first_point.values())))
    print(describe("finished", done))
    passes = sum(source in ("computed", "memory") for _, _, source in finished.values())
    print(f"feature passes computed: {passes}")
    server = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: server process {server:.0f} MB, largest worker process {workers:.0f} MB")
    if ray_memory is not None:
        print(f"Ray: started in {args.ray_started:.1f} s; its processes (raylet, GCS, workers) peaked at "
              f"{ray_memory.peak_mb:.0f} MB together, idle {ray_memory.idle_mb:.0f} MB")  # fmt: skip


def student_config(args) -> TrainConfig:
    """The default lab, or its full fine-tune (every stage trains, at the fine-tune's learning rate)."""
    lab = TrainConfig(device=args.device)
    return lab.replace(frozen_stages=0, lr=3e-4) if args.finetune else lab


def make_runner(args, store: RunStore, features: FeatureStore | None) -> Runner:
    if args.runner == "processes":
        return ProcessRunner(store, slots=args.slots, features=features)
    if args.runner == "ray":
        from transfer_core.runners.ray_cluster import RayRunner, start_ray

        started = time.monotonic()
        start_ray(num_cpus=os.cpu_count())
        args.ray_started = time.monotonic() - started
        cpus = args.ray_cpus_per_run or os.cpu_count() / args.slots
        return RayRunner(store, slots=None, features=features, cpus_per_run=cpus)
    return Runner(store, slots=args.slots, features=features)


class RayMemory:
    """Sums the resident memory of Ray's processes (not children of this one) every second."""

    def __init__(self):
        self.idle_mb = self.peak_mb = ray_rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(1.0):
            self.peak_mb = max(self.peak_mb, ray_rss_mb())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def ray_rss_mb() -> float:
    """Ray's workers are named ray::<task>; its services (raylet, GCS, monitors) run from Ray's package."""
    total = 0
    for process in Path("/proc").glob("[0-9]*"):
        try:
            command = (process / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            if command.startswith("ray::") or "/site-packages/ray/" in command:
                status = (process / "status").read_text()
                total += int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])
        except (OSError, StopIteration):
            continue
    return total / 1024


if __name__ == "__main__":
    main()
