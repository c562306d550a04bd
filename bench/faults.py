"""Faults a class server meets, and whether every run's results stay its own; prints a table, passes or
fails nothing. Loopback only: runners in this process (and a Ray on this machine) over a temporary store.

    .venv/bin/python -m bench.faults [--runners threads,processes,ray] [--class-size 30]

For each fault x runner x moment (before Started, mid-epoch, at Done): one long run meets the fault, then
the next run trains on the same slot. A row says what the failed run said, what the next run recorded
(its epochs, against its config's), whether the next run's stored accuracy equals a fresh evaluation of
its stored weights, and whether the queue went on. Then a class of `--class-size` default labs through
the process runner right after a fault: how many finished, and how many recorded anything not their own.
"""

import argparse
import tempfile
import time
from pathlib import Path

from transfer_core.analysis.validation import load_trained_model, validation_report
from transfer_core.config import TrainConfig
from transfer_core.resolve import verified_data
from transfer_core.runners.processes import ProcessRunner
from transfer_core.runners.runner import Runner
from transfer_core.store.features import FeatureStore
from transfer_core.store.runs import RunStore

NEXT = TrainConfig(
    backbone="small_cnn", weights="random", dataset="digits", train_per_class=20, val_per_class=10,
    frozen_stages=0, epochs=2, batch_size=32, image_size=32, seed=7, device="cpu",
)  # fmt: skip
LONG = NEXT.replace(epochs=30, seed=5)  # still training when a mid-epoch fault comes
MOMENTS = ("before Started", "mid-epoch", "at Done")


class FaultyStore(RunStore):
    """A run store that meets `fault` when the run `victim` reaches `moment`: the write of its Started
    record (before Started), of an epoch's metrics (mid-epoch), or of its weights (at Done)."""

    def __init__(self, root: Path, moment: str, fault: str):
        super().__init__(root)
        self.moment, self.fault, self.victim = moment, fault, None

    def update(self, run_id: str, **changes) -> None:
        if "classes" in changes:
            self._at("before Started", run_id)
        super().update(run_id, **changes)

    def append_metrics(self, run_id: str, metrics) -> None:
        self._at("mid-epoch", run_id)
        super().append_metrics(run_id, metrics)

    def save_weights(self, run_id: str, state_dict):
        self._at("at Done", run_id)
        return super().save_weights(run_id, state_dict)

    def _at(self, moment: str, run_id: str) -> None:
        if run_id != self.victim or moment != self.moment:
            return
        if self.fault == "disk full":
            raise OSError(28, "No space left on device")
        if self.fault == "read-only":
            raise OSError(30, "Read-only file system")
        (self.root / run_id / "meta.json").write_text('{"status": "runn')  # a damaged record


def make_runner(kind: str, store: RunStore) -> Runner:
    features = FeatureStore(store.root.parent / "features", 2 * 1024**3)
    if kind == "threads":
        return Runner(store, features=features)
    if kind == "processes":
        return ProcessRunner(store, features=features)
    from transfer_core.runners.ray_cluster import RayRunner, start_ray

    start_ray(num_cpus=2)
    return RayRunner(store, features=features)


def wait(runner: Runner, run_id: str, timeout: float = 300) -> object:
    deadline = time.monotonic() + timeout
    while not (snapshot := runner.snapshot(run_id)).finished and time.monotonic() < deadline:
        time.sleep(0.1)
    return snapshot


def own_and_true(store: RunStore, run_id: str) -> tuple[str, str]:
    """(its stored epochs against its config's, whether its stored accuracy is its weights' fresh one)."""
    record = store.load(run_id)
    epochs = [m.epoch for m in record.metrics]
    said = f"{epochs[0]}-{epochs[-1]} of {record.config.epochs}" if epochs else f"none of {record.config.epochs}"
    try:
        model = load_trained_model(record.config, len(record.classes), store.load_weights(run_id))
        fresh = validation_report(record.config, record.classes, model, verified_data(record)).accuracy
        true = "yes" if abs(fresh - record.summary.final_val_acc) < 1e-6 else f"no ({fresh:.3f})"
    except Exception as err:
        true = f"cannot tell ({type(err).__name__})"
    return said, true


def fault_row(kind: str, fault: str, moment: str, home: Path) -> list[str]:
    store = FaultyStore(home / "runs", moment, fault)
    runner = make_runner(kind, store)
    try:
        store.victim = None
        long_run = runner.submit(LONG, "yan")
        store.victim = long_run
        failed = wait(runner, long_run)
        after = wait(runner, runner.submit(NEXT, "wen"))
        epochs, true = own_and_true(store, after.run_id) if after.status == "done" else ("-", "-")
        return [kind, fault, moment, f"{failed.status}: {failed.message[:60]}", after.status, epochs, true]
    finally:
        runner.close()


def class_after_a_fault(size: int, home: Path) -> str:
    store = FaultyStore(home / "runs", "mid-epoch", "disk full")
    runner = make_runner("processes", store)
    try:
        store.victim = runner.submit(LONG, "yan")
        wait(runner, store.victim)
        started = time.monotonic()
        # The default lab with 1-5 epochs: one feature pass for the class, and each run's length its own.
        runs = [runner.submit(TrainConfig(epochs=1 + i % 5), f"student-{i}") for i in range(size)]
        done = [wait(runner, run_id, timeout=900) for run_id in runs]
        finished = sum(s.status == "done" for s in done)
        misattributed = sum(
            [m.epoch for m in store.load(s.run_id).metrics] != list(range(1, s.config.epochs + 1))
            or len(store.load_weights(s.run_id)) == 0
            for s in done
        )
        return (
            f"a class of {size} default labs after a disk-full fault (processes, 1 slot): {finished}/{size} done, "
            f"{misattributed} recorded anything not their own, last done after {time.monotonic() - started:.1f} s"
        )
    finally:
        runner.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runners", default="threads,processes,ray")
    parser.add_argument("--faults", default="disk full,read-only,damaged record")
    parser.add_argument("--class-size", type=int, default=30)
    args = parser.parse_args()
    header = ["runner", "fault", "when", "the failed run", "next run", "its epochs", "stored acc = fresh"]
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        for i, (kind, fault, moment) in enumerate(
            (k, f, m) for k in args.runners.split(",") if k for f in args.faults.split(",") for m in MOMENTS
        ):
            row = fault_row(kind, fault, moment, Path(tmp) / str(i))
            print("| " + " | ".join(row) + " |", flush=True)
        if args.class_size:
            print(class_after_a_fault(args.class_size, Path(tmp) / "class"), flush=True)


if __name__ == "__main__":
    main()
