"""What sessions hold only in memory (datasets, webcam shots), per owner, and the bound on all of it.

Since every browser tab is a session, all sessions' memory together is bounded (the server memory limit):
past it, the data of the sessions seen least recently is released, and each is told once when it returns.
A tab gone for a while lets go of what it held; saved datasets stay on disk.
"""

import threading
import time

import numpy as np

from transfer_core.data.registry import RawDataset
from transfer_core.errors import TransferLabError
from transfer_core.messages import say
from transfer_core.settings import UploadLimits


class StorageFull(TransferLabError):
    """The session already holds as much as the storage limit allows."""


class _Memory:
    """The datasets sessions hold in memory, per owner. One per server process."""

    def __init__(self):
        self.lock = threading.RLock()  # storage_used is called with it held and without
        self.datasets: dict[str, dict[str, RawDataset]] = {}
        self.webcam: dict[str, dict[str, list[np.ndarray]]] = {}  # owner -> class -> shots
        self.last_seen: dict[str, float] = {}  # owner -> when their tab last ran (time.monotonic())
        self.released: dict[str, list[str]] = {}  # owner -> names of what was released, not yet told


MEMORY = _Memory()


def seen(owner: str) -> None:
    """The owner's tab is open: keep what they hold in memory."""
    with MEMORY.lock:
        MEMORY.last_seen[owner] = time.monotonic()


def release_idle(idle_seconds: float) -> list[str]:
    """Drop the in-memory datasets and webcam shots of owners whose tab has been gone this long (saved
    datasets stay on disk); returns those owners. A closed tab's data must not hold the server's memory."""
    now = time.monotonic()
    with MEMORY.lock:
        gone = [owner for owner, last in MEMORY.last_seen.items() if now - last > idle_seconds]
        for owner in gone:
            _release(owner)
            del MEMORY.last_seen[owner]
    return gone


def _release(owner: str) -> None:
    """Drop what `owner` holds in memory, remembering its names to tell them (saved copies stay on disk)."""
    names = list(MEMORY.datasets.pop(owner, {})) + [f"webcam: {c}" for c in MEMORY.webcam.pop(owner, {})]
    if names:
        MEMORY.released.setdefault(owner, []).extend(names)


def released_since_last_told(owner: str) -> list[str]:
    """What the server released of this owner's data since they were last told (then forgotten)."""
    with MEMORY.lock:
        return MEMORY.released.pop(owner, [])


def memory_held(owner: str | None = None) -> int:
    """Bytes of datasets and webcam shots held in memory: one owner's, or every session's together."""
    with MEMORY.lock:
        owners = [owner] if owner is not None else set(MEMORY.datasets) | set(MEMORY.webcam)
        held = sum(dataset_bytes(d) for o in owners for d in MEMORY.datasets.get(o, {}).values())
        shots = sum(image.nbytes for o in owners for shots in MEMORY.webcam.get(o, {}).values() for image in shots)
    return held + shots


def make_server_room(owner: str, extra: int, limits: UploadLimits) -> None:
    """Room for `extra` bytes in the memory all sessions share: release the data of the sessions seen
    least recently until it fits; StorageFull when only this session's own data would be left to release."""
    with MEMORY.lock:
        while memory_held() + extra > limits.server_memory_bytes:
            others = [o for o in set(MEMORY.datasets) | set(MEMORY.webcam) if o != owner and memory_held(o)]
            if not others:
                sentence = (
                    "the server holds as much of students' data in memory as it may ({limit} MB for everyone). Save "
                    "or delete a dataset you are not using (My data page), or try a smaller one."
                )
                raise StorageFull(say("memory.full", sentence, limit=limits.server_memory_mb))
            _release(min(others, key=lambda o: MEMORY.last_seen.get(o, 0.0)))


def dataset_bytes(dataset: RawDataset) -> int:
    return int(sum(image.nbytes for image in dataset.images))
