"""A class pressing "Start the default lab" in the same minute, through the runner; prints figures,
passes or fails nothing. Loopback only: everything runs in this process against a temporary store.

    .venv/bin/python -m bench.classroom [--runner threads|processes] [--students 30] [--within 5] [--slots 1]
    .venv/bin/python -m bench.classroom --no-feature-store     # every run computes its own features

Prints: accepted, refused, finished, lost (accepted but never finished: must be 0), seconds from the
first submission to each run's first live point and to its finish (median, 95th percentile, last),
feature passes computed, and the process's peak memory.
"""

import argparse
import random
import resource
import statistics
import tempfile
import threading
import time
from pathlib import Path

from transfer_core.config import TrainConfig
from transfer_core.errors import QueueFull
from transfer_core.feature_store import FeatureStore
from transfer_core.jobs import Runner
from transfer_core.process_runner import ProcessRunner
from transfer_core.runs import RunStore

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
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--no-feature-store", action="store_true")
    parser.add_argument("--runner", choices=("threads", "processes"), default="threads")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as home:
        features = None if args.no_feature_store else FeatureStore(Path(home) / "features", 2 * 1024**3)
        store = RunStore(Path(home) / "runs")
        if args.runner == "processes":
            runner = ProcessRunner(store, slots=args.slots, features=features)
        else:
            runner = Runner(store, slots=args.slots, features=features)
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
                accepted.append(runner.submit(TrainConfig(), f"student-{student}"))
            except QueueFull:
                refused += 1
        submitted.set()
        watcher.join()
        runner.close()
    first_point, finished = seen["first_point"], seen["finished"]

    done = [seconds for seconds, status, _ in finished.values() if status == "done"]
    store_state = "off" if features is None else "on"
    print(f"{args.students} students, default lab, {args.runner} runner, {args.slots} slot(s), features {store_state}")
    print(f"accepted {len(accepted)}, refused {refused}, finished {len(done)}, lost {len(accepted) - len(finished)}")
    print(describe("first live point", list(first_point.values())))
    print(describe("finished", done))
    passes = sum(source in ("computed", "memory") for _, _, source in finished.values())
    print(f"feature passes computed: {passes}")
    server = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: server process {server:.0f} MB, largest worker process {workers:.0f} MB")


if __name__ == "__main__":
    main()
