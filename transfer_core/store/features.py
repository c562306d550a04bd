"""Frozen-prefix outputs on disk, shared by every run that needs the same ones.

A frozen prefix maps each image to the same output whatever run asks, so thirty students running the
default lab need one feature pass between them. Each entry is named by a digest of everything that
determines it (see evaluation.prefix_key), written to a unique temporary file and renamed, bounded in
total size by evicting the least recently used entries, and computed once when several runs ask at the
same time: the first takes the entry's file lock (across threads and processes), the others wait for
it and then read what it wrote. Every entry carries its tensors' digest: an entry a disk has damaged
(truncated, or bytes changed in place) is removed and computed again, and the run is told so, instead
of every later run failing on it or, worse, training on wrong features.
"""

import fcntl
import hashlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

WAIT_SECONDS = 0.2  # how often a run waiting for another's feature pass looks again
ABSENT, DAMAGED = "absent", "damaged"  # what reading an entry found, when not its tensors

Tensors = dict[str, torch.Tensor]


def digest(tensors: Tensors) -> str:
    """sha256 over every tensor's name, shape, dtype and bytes, in name order."""
    sha = hashlib.sha256()
    for name in sorted(tensors):
        tensor = tensors[name].detach().cpu().contiguous()
        sha.update(f"{name}|{tuple(tensor.shape)}|{tensor.dtype}|".encode())
        sha.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return sha.hexdigest()


class FeatureStore:
    def __init__(self, root: Path | str, max_bytes: int):
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.computed = 0  # feature passes this store object computed (tests count them)

    def fetch(self, key: str, compute: Callable[[], Iterator[object]], waiting: object) -> Iterator[object]:
        """Yields what `compute` yields (progress), or `waiting` now and then while another run computes the
        same entry; returns (tensors, "stored" | "computed" | "repaired": a damaged entry computed again).
        `compute` returns the tensors when done."""
        found = self._read(key)
        if isinstance(found, dict):
            return found, "stored"
        self.root.mkdir(parents=True, exist_ok=True)
        with _entry_lock(self.root / f"{key}.lock") as acquire:
            for _ in acquire:
                yield waiting
            again = self._read(key)  # computed by the run we waited for
            if isinstance(again, dict):
                return again, "stored"
            tensors = yield from compute()
            self.computed += 1
            if self._write(key, tensors):
                # Runs that wait on this lock read the entry once it is released; later runs find the entry
                # before they look for a lock. So the lock file can go, and a class leaves no files behind.
                (self.root / f"{key}.lock").unlink(missing_ok=True)
        return tensors, "repaired" if DAMAGED in (found, again) else "computed"

    def size(self) -> int:
        return sum(p.stat().st_size for p in self._entries())

    def _read(self, key: str) -> Tensors | str:
        """The entry's tensors; ABSENT, or DAMAGED (then the file is gone, to be computed again)."""
        path = self.root / f"{key}.safetensors"
        try:
            with safe_open(path, framework="pt") as entry:
                tensors = {name: entry.get_tensor(name) for name in entry.keys()}  # noqa: SIM118 (safe_open is no dict)
                written = (entry.metadata() or {}).get("sha256")
            os.utime(path)  # recently used: evicted last
        except FileNotFoundError:  # never computed, or evicted meanwhile
            return ABSENT
        except Exception:  # safetensors' own error for a truncated or garbled file, among others
            written = None
        if written is None or written != digest(tensors):
            path.unlink(missing_ok=True)
            return DAMAGED
        return tensors

    def _write(self, key: str, tensors: Tensors) -> bool:
        """Keep the entry if the disk allows (True); a full disk costs the sharing, never the run."""
        target = self.root / f"{key}.safetensors"
        tmp = self.root / f".{key}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            tensors = {name: t.detach().cpu().contiguous() for name, t in tensors.items()}
            save_file(tensors, str(tmp), metadata={"sha256": digest(tensors)})
            os.replace(tmp, target)
            self._evict(keep=target)
        except OSError:
            tmp.unlink(missing_ok=True)
            return False
        return True

    def _evict(self, keep: Path) -> None:
        entries = sorted(self._entries(), key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in entries)
        for path in entries:
            if total <= self.max_bytes:
                break
            if path != keep:
                total -= path.stat().st_size
                path.unlink(missing_ok=True)
        for lock in self.root.glob("*.lock"):  # left by a run that stopped mid-pass, or a failed write
            _remove_if_free(lock)

    def _entries(self) -> list[Path]:
        return list(self.root.glob("*.safetensors")) if self.root.is_dir() else []


def _remove_if_free(lock: Path) -> None:
    """Remove a lock file that no run holds (one that is held belongs to a feature pass under way)."""
    try:
        with open(lock, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            lock.unlink(missing_ok=True)
    except OSError:  # held (BlockingIOError), or gone already
        pass


@contextmanager
def _entry_lock(path: Path) -> Iterator[Iterator[None]]:
    """Hold the entry's lock; the iterator it gives ends once the lock is ours, and yields while another
    holder has it (so the caller can say it is waiting, or give up)."""
    with open(path, "a") as handle:

        def acquire() -> Iterator[None]:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    yield
                    time.sleep(WAIT_SECONDS)

        try:
            yield acquire()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
