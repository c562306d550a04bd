"""The run store: one folder per run under the runs folder (`Settings.runs_dir`).

    <run_id>/config.json        the TrainConfig
    <run_id>/meta.json          owner, status, times, message, the process that runs it
    <run_id>/metrics.jsonl      one EpochMetrics per line, appended as epochs end
    <run_id>/weights.safetensors
    <run_id>/records/epoch_NNN.npz  a fixed validation sample's penultimate features after each epoch
    <run_id>/drift.jsonl         per epoch, how far each stage's weights moved from the start

config.json, meta.json, the weights and each epoch's record are written to a unique temporary file
and renamed into place, so a reader sees the old file or the new one, never half of one. meta.json
changes under the run's file lock (<run_id>/.lock), so two writers in any processes never lose each
other's change. metrics.jsonl and drift.jsonl grow by one appended line per epoch; readers skip a
last line that is still being written. A run whose files cannot be read is reported as damaged and
skipped, never breaking anyone else's list or the server's start. A run left queued or running by a
process that no longer exists is marked interrupted. An index (run_index.py) names each owner's runs and
the shared ones, so a listing reads only the runs it shows.
"""

from __future__ import annotations  # the classes define a method named list

import csv
import fcntl
import io
import json
import os
import re
import shutil
import socket
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from transfer_core import messages
from transfer_core.config import TrainConfig
from transfer_core.errors import ConfigError, RunDamaged, RunNotFound, RunStillLive
from transfer_core.metrics import EpochMetrics, RunSummary, metrics_rows, summarize
from transfer_core.store.run_index import RunIndex

STATUSES = ("queued", "running", "done", "failed", "cancelled", "interrupted")
LIVE_STATUSES = ("queued", "running")
RUN_ID = re.compile(r"^[0-9a-f]{12}$")
INTERRUPTED = {  # what a restart tells the owner of a run that was still live, by what it was doing
    "queued": messages.say(
        "store.restarted_queued", "the server restarted before this run started, so it never trained; launch it again"
    ),
    "running": messages.say(
        "store.restarted_running",
        "the server stopped during this run; the epochs it finished are kept, the weights were not saved",
    ),
}


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    owner: str
    status: str
    config: TrainConfig
    metrics: list[EpochMetrics] = field(default_factory=list)
    message: str = ""
    created: float = 0.0
    finished: float | None = None
    classes: list[str] = field(default_factory=list)
    shared: bool = False  # visible, read-only, to the whole class when the server allows sharing
    fingerprint: dict = field(default_factory=dict)  # the data it trained on (resolve.fingerprint)
    trained_on: str = ""  # "machine · device", once it has started
    feature_seconds: float = 0.0  # the frozen stages' feature pass (or reading it from the store), before epoch 1

    @property
    def summary(self) -> RunSummary | None:
        return summarize(self.metrics)


class RunStore:
    def __init__(self, root: Path | str):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.index = RunIndex(self.root)

    # --- writing ------------------------------------------------------------------------------
    def create(self, config: TrainConfig, owner: str) -> str:
        run_id = uuid.uuid4().hex[:12]
        self.index.add(owner, run_id)  # first: a marker without its run yet is skipped by readers
        folder = self.root / run_id
        folder.mkdir()
        write_atomic(folder / "config.json", config.to_json())
        meta = {"owner": owner, "status": "queued", "created": time.time(), "message": ""}
        self._write_meta(run_id, meta | this_process())
        return run_id

    def update(self, run_id: str, **changes) -> None:
        """Change meta fields (status, message, classes); finished runs get a finish time."""
        if changes.get("status") not in (None, *STATUSES):
            raise ValueError(f"unknown status {changes['status']!r}")
        with self._locked(run_id):  # read, change and write as one step, whoever else writes
            try:
                meta = self._read_meta(run_id) | changes
            except (ValueError, TypeError) as err:  # not JSON, or not an object: written by hand, or a bad disk
                damaged = messages.say(
                    "store.record_damaged",
                    "run {run}'s record is damaged ({kind}).",
                    run=run_id,
                    kind=type(err).__name__,
                )
                raise RunDamaged(damaged) from err
            if "message" in changes:  # kept with its key, so a page can say it in the learner's language
                meta["said"] = messages.to_json(changes["message"])
            if changes.get("status") == "running":
                meta |= this_process()
            if changes.get("status") not in (None, *LIVE_STATUSES):
                meta["finished"] = time.time()
            self._write_meta(run_id, meta)
            if "shared" in changes:
                self.index.share(run_id, bool(changes["shared"]))

    def append_metrics(self, run_id: str, metrics: EpochMetrics) -> None:
        with open(self._folder(run_id) / "metrics.jsonl", "a") as f:
            f.write(json.dumps(metrics.to_dict()) + "\n")

    def save_record(self, run_id: str, epoch: int, sample: np.ndarray, embedding: np.ndarray, drift: dict) -> None:
        """One epoch's recorded features (records/epoch_NNN.npz) and weight drift (drift.jsonl)."""
        folder = self._folder(run_id) / "records"
        folder.mkdir(exist_ok=True)

        def write(tmp: Path) -> None:
            with open(tmp, "wb") as f:  # a file, not a name: np.savez would add its own ".npz"
                np.savez(f, sample=sample, embedding=embedding)

        _replace_atomically(folder / f"epoch_{epoch:03d}.npz", write)
        with open(self._folder(run_id) / "drift.jsonl", "a") as f:
            f.write(json.dumps({"epoch": epoch, **drift}) + "\n")

    def records(self, run_id: str) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """(epoch, sample indices, embedding) for every recorded epoch, in order."""
        folder = self._folder(run_id) / "records"
        out = []
        for path in sorted(folder.glob("epoch_*.npz")) if folder.exists() else []:
            with np.load(path) as data:
                out.append((int(path.stem.removeprefix("epoch_")), data["sample"], data["embedding"]))
        return out

    def drift(self, run_id: str) -> list[dict]:
        return _read_jsonl(self._folder(run_id) / "drift.jsonl")

    def save_weights(self, run_id: str, state_dict: dict[str, torch.Tensor]) -> Path:
        path = self._folder(run_id) / "weights.safetensors"
        tensors = {k: v.detach().cpu().contiguous() for k, v in state_dict.items()}
        _replace_atomically(path, lambda tmp: save_file(tensors, str(tmp)))
        return path

    # --- reading ------------------------------------------------------------------------------
    def load(self, run_id: str) -> RunRecord:
        """The run's record; RunDamaged when its files cannot be read."""
        folder = self._folder(run_id)
        try:
            meta = self._read_meta(run_id)
            config = TrainConfig.from_json((folder / "config.json").read_text())
            metrics = self.metrics(run_id)
            owner, status, created = meta["owner"], meta["status"], meta["created"]
        except (OSError, ValueError, KeyError, TypeError, ConfigError) as err:
            damaged = messages.say(
                "store.damaged",
                "run {run} is damaged and cannot be read ({kind}).",
                run=run_id,
                kind=type(err).__name__,
            )
            raise RunDamaged(damaged) from err
        return RunRecord(
            run_id=run_id,
            owner=owner,
            status=status,
            config=config,
            metrics=metrics,
            message=messages.from_json(meta.get("message", ""), meta.get("said")),
            created=created,
            finished=meta.get("finished"),
            classes=meta.get("classes", []),
            shared=meta.get("shared", False),
            fingerprint=meta.get("fingerprint", {}),
            trained_on=meta.get("trained_on", ""),
            feature_seconds=meta.get("feature_seconds", 0.0),
        )

    def metrics(self, run_id: str) -> list[EpochMetrics]:
        return [EpochMetrics.from_dict(row) for row in _read_jsonl(self._folder(run_id) / "metrics.jsonl")]

    def load_weights(self, run_id: str) -> dict[str, torch.Tensor]:
        return load_file(str(self.weights_path(run_id)))

    def weights_path(self, run_id: str) -> Path:
        return self._folder(run_id) / "weights.safetensors"

    def list(self, owner: str | None = None) -> list[RunRecord]:
        """Runs, newest first; only `owner`'s when given. Damaged runs are left out (see `scan`)."""
        return self.scan(owner)[0]

    def scan(self, owner: str | None = None) -> tuple[list[RunRecord], list[str]]:
        """(runs newest first, only `owner`'s when given; ids of runs whose files cannot be read, kept on
        disk for whoever runs the server to look at)."""
        records, damaged = self._read(self._run_ids() if owner is None else self._owned(owner))
        records = [r for r in records if owner is None or r.owner == owner]
        return sorted(records, key=lambda r: r.created, reverse=True), sorted(damaged)

    def shared(self) -> list[RunRecord]:
        """Runs their owners shared with the class, newest first."""
        if self._complete_index():
            shared_ids = self.index.shared()
        else:
            shared_ids = [run_id for run_id, _, shared in self._owners() if shared]
        records, _ = self._read(shared_ids)
        return sorted((r for r in records if r.shared), key=lambda r: r.created, reverse=True)

    def _read(self, run_ids: list[str]) -> tuple[list[RunRecord], list[str]]:
        records, damaged = [], []
        for run_id in run_ids:
            try:
                records.append(self.load(run_id))
            except RunDamaged:
                damaged.append(run_id)
            except RunNotFound:  # deleted while we looked, or its marker written before its folder
                continue
        return records, damaged

    def _run_ids(self) -> list[str]:
        return [p.name for p in self.root.iterdir() if RUN_ID.match(p.name) and (p / "meta.json").exists()]

    def _owned(self, owner: str) -> list[str]:
        if self._complete_index():
            return self.index.owned(owner)
        return [run_id for run_id, who, _ in self._owners() if who == owner]

    def _complete_index(self) -> bool:
        """Index runs from before the index; False when the folder cannot be written (a full or read-only
        disk), and listings read every run as they did before the index."""
        try:
            self.index.ensure_complete(self._owners)
        except OSError:
            return False
        return True

    def _owners(self) -> Iterator[tuple[str, str, bool]]:
        """(run_id, owner, shared) of every run whose record can be read."""
        for run_id in self._run_ids():
            try:
                meta = self._read_meta(run_id)
                yield run_id, meta["owner"], meta.get("shared", False)
            except (OSError, ValueError, KeyError, TypeError, RunNotFound):
                continue  # damaged or deleted: nobody's to list

    def delete(self, run_id: str) -> None:
        """Remove a finished run and everything it stored."""
        meta = self._read_meta(run_id)
        if meta["status"] in LIVE_STATUSES:
            sentence = "run {run} is still {status}; stop it before deleting it."
            raise RunStillLive(
                messages.say("runner.still_live", sentence, run=run_id, status=messages.say_status(meta["status"]))
            )
        shutil.rmtree(self._folder(run_id))
        self.index.remove(meta["owner"], run_id)

    def export_zip(self, run_id: str) -> bytes:
        """The run's weights (safetensors), config (JSON) and metrics (CSV) in one zip file."""
        record = self.load(run_id)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(self.weights_path(run_id), "weights.safetensors")
            archive.writestr("config.json", record.config.to_json())
            archive.writestr("classes.json", json.dumps(record.classes))
            archive.writestr("metrics.csv", metrics_csv(metrics_rows(record.metrics)))
        return buffer.getvalue()

    def recover_interrupted(self) -> list[str]:
        """Mark runs whose process died while they were queued or running; returns their ids."""
        found = []
        for record in self.list():  # damaged runs are skipped: they must not stop the server starting
            if record.status not in LIVE_STATUSES:
                continue
            meta = self._read_meta(record.run_id)  # which process it names
            if meta["status"] in LIVE_STATUSES and not process_alive(meta):
                self.update(record.run_id, status="interrupted", message=INTERRUPTED[meta["status"]])
                found.append(record.run_id)
        return found

    # --- helpers ------------------------------------------------------------------------------
    def _folder(self, run_id: str) -> Path:
        if not RUN_ID.match(run_id) or not (self.root / run_id).is_dir():
            raise RunNotFound(messages.say("runner.no_run", "no run {run}", run=repr(run_id)))
        return self.root / run_id

    def _read_meta(self, run_id: str) -> dict:
        return json.loads((self._folder(run_id) / "meta.json").read_text())

    @contextmanager
    def _locked(self, run_id: str) -> Iterator[None]:
        """The run's lock, across threads and processes (flock on a file of its own)."""
        with open(self._folder(run_id) / ".lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _write_meta(self, run_id: str, meta: dict) -> None:
        write_atomic(self._folder(run_id) / "meta.json", json.dumps(meta, indent=2))


def metrics_csv(rows: list[dict]) -> str:
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _read_jsonl(path: Path) -> list[dict]:
    """Every complete line; a last line a writer has not finished yet is left for the next read."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().split("\n"):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # an empty line, or the torn end of one being appended
    return rows


def write_atomic(path: Path, text: str) -> None:
    _replace_atomically(path, lambda tmp: tmp.write_text(text))


def _replace_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """`write` a temporary file beside `path`, then rename it into place: readers see the old file or the
    new one. The name is unique, so two writers never share one."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


PROCESS_TOKEN = uuid.uuid4().hex  # tells this process from an earlier one that had the same pid


def this_process() -> dict:
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "process": PROCESS_TOKEN, "started": process_start(pid)}


def process_start(pid: int) -> int | None:
    """When a process started (clock ticks since boot, from Linux's /proc); None where it cannot be told."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat.rpartition(")")[2].split()[19])  # field 22; the name in parentheses may hold spaces
    except (OSError, ValueError, IndexError):
        return None


def process_alive(meta: dict) -> bool:
    """Whether the process a record names (host, pid, start time, token) may still be working on it. A pid
    alone is not enough: after a restart another process may have it, and the run would look live for ever."""
    if meta.get("host") != socket.gethostname():
        return True  # another machine's run: not ours to judge
    if meta.get("pid") == os.getpid():
        return meta.get("process") == PROCESS_TOKEN
    try:
        os.kill(meta["pid"], 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    recorded, now = meta.get("started"), process_start(meta["pid"])
    return recorded is None or now is None or recorded == now
