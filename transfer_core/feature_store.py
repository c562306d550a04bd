"""Frozen-prefix outputs on disk, shared by every run that needs the same ones.

A frozen prefix maps each image to the same output whatever run asks, so thirty students running the
default lab need one feature pass between them. Each entry is named by a digest of everything that
determines it (see evaluation.prefix_key), written to a unique temporary file and renamed, bounded in
total size by evicting the least recently used entries, and computed once when several runs ask at the
same time: the first takes the entry's file lock (across threads and processes), the others wait for
it and then read what it wrote.
"""

import fcntl
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

WAIT_SECONDS = 0.2  # how often a run waiting for another's feature pass looks again

Tensors = dict[str, torch.Tensor]


class FeatureStore:
    def __init__(self, root: Path | str, max_bytes: int):
        self.root = Path(root)
        self.max_bytes = max_bytes
        self.computed = 0  # feature passes this store object computed (tests count them)

    def fetch(self, key: str, compute: Callable[[], Iterator[object]], waiting: object) -> Iterator[object]:
        """Yields what `compute` yields (progress), or `waiting` now and then while another run computes the
        same entry; returns (tensors, "stored" | "computed"). `compute` returns the tensors when done."""
        found = self._read(key)
        if found is not None:
            return found, "stored"
        self.root.mkdir(parents=True, exist_ok=True)
        with _entry_lock(self.root / f"{key}.lock") as acquire:
            for _ in acquire:
                yield waiting
            found = self._read(key)  # computed by the run we waited for
            if found is not None:
                return found, "stored"
            tensors = yield from compute()
            self.computed += 1
            self._write(key, tensors)
        return tensors, "computed"

    def size(self) -> int:
        return sum(p.stat().st_size for p in self._entries())

    def _read(self, key: str) -> Tensors | None:
        path = self.root / f"{key}.safetensors"
        try:
            tensors = load_file(path)
            os.utime(path)  # recently used: evicted last
        except (OSError, ValueError, RuntimeError):  # absent, evicted meanwhile, or damaged
            return None
        return tensors

    def _write(self, key: str, tensors: Tensors) -> None:
        """Keep the entry if the disk allows; a full disk costs the sharing, never the run."""
        target = self.root / f"{key}.safetensors"
        tmp = self.root / f".{key}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            save_file({name: t.detach().cpu().contiguous() for name, t in tensors.items()}, str(tmp))
            os.replace(tmp, target)
            self._evict(keep=target)
        except OSError:
            tmp.unlink(missing_ok=True)

    def _evict(self, keep: Path) -> None:
        entries = sorted(self._entries(), key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in entries)
        for path in entries:
            if total <= self.max_bytes:
                break
            if path != keep:
                total -= path.stat().st_size
                path.unlink(missing_ok=True)

    def _entries(self) -> list[Path]:
        return list(self.root.glob("*.safetensors")) if self.root.is_dir() else []


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
