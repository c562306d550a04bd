"""Who owns which run, and which runs are shared, as empty files beside the runs:

    <runs>/.index/owners/<owner key>/<run_id>   one per run of that owner
    <runs>/.index/shared/<run_id>               one per run shared with the class
    <runs>/.index/complete                       every run written before the index existed is in it

A student's listing reads the names in their own folder and then only their runs' files, however many
runs the class has. A marker whose run is gone (deleted, or never finished being created) is skipped by
the reader. A folder of runs from before the index is indexed by one full scan, the first time a listing
needs it.
"""

import hashlib
from collections.abc import Callable, Iterable
from pathlib import Path


def owner_key(owner: str) -> str:
    # A fixed-length name a file system accepts, whatever the owner string holds.
    return hashlib.sha256(owner.encode()).hexdigest()[:32]


class RunIndex:
    def __init__(self, runs_root: Path):
        self.root = runs_root / ".index"

    def add(self, owner: str, run_id: str) -> None:
        folder = self._owner_folder(owner)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / run_id).touch()

    def remove(self, owner: str, run_id: str) -> None:
        (self._owner_folder(owner) / run_id).unlink(missing_ok=True)
        self.share(run_id, False)

    def share(self, run_id: str, shared: bool) -> None:
        marker = self.root / "shared" / run_id
        if shared:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        else:
            marker.unlink(missing_ok=True)

    def owned(self, owner: str) -> list[str]:
        return _names(self._owner_folder(owner))

    def shared(self) -> list[str]:
        return _names(self.root / "shared")

    def ensure_complete(self, every_run: Callable[[], Iterable[tuple[str, str, bool]]]) -> None:
        """Index runs written before the index existed, once: `every_run()` yields (run_id, owner, shared)."""
        if (self.root / "complete").exists():
            return
        for run_id, owner, shared in every_run():
            self.add(owner, run_id)
            self.share(run_id, shared)
        (self.root / "complete").touch()

    def _owner_folder(self, owner: str) -> Path:
        return self.root / "owners" / owner_key(owner)


def _names(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir()] if folder.is_dir() else []
