"""What a curious or careless student can send one shared server, and what happens: each hostile case
tried in this process (as the web server would meet it), its outcome (refused with what message, or
served) and the process's memory afterwards. Prints figures, passes or fails nothing; touches only a
temporary folder.

    .venv/bin/python -m bench.hostile
"""

import io
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch


def rss_mb() -> float:
    """Resident memory now (Linux /proc), in MB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def report(case: str, outcome: str, before_mb: float) -> None:
    print(f"- {case}\n    {outcome}\n    memory {before_mb:.0f} MB before, {rss_mb():.0f} MB after")


def attempt(case: str, action) -> None:
    """Run `action` as the server would, and report its outcome and what it did to memory."""
    from transfer_core.errors import TransferLabError

    before = rss_mb()
    try:
        result = action()
    except TransferLabError as err:
        report(case, f"refused: {err}", before)
    else:
        report(case, f"served: {result}", before)


def link_asking_for_47_gb() -> None:
    from transfer_core.config import TrainConfig
    from transfer_core.resolve import prepared_data
    from transfer_core.runners.runner import Runner
    from transfer_core.store.runs import RunStore

    bomb = TrainConfig.from_query({"train_per_class": "5000", "val_per_class": "1000", "image_size": "512"})
    attempt("/data?train_per_class=5000&val_per_class=1000&image_size=512 (the Data page)",
            lambda: prepared_data(bomb, "student"))  # fmt: skip
    runner = Runner(RunStore(Path(os.environ["TRANSFER_LAB_HOME"]) / "runs"))
    attempt("the same config submitted to the runner (Train, Compare, lessons)", lambda: runner.submit(bomb, "student"))
    runner.close()


def compressed_weights() -> None:
    from transfer_core import settings
    from transfer_core.models.weight_upload import read_weights_file

    # Built here, as a student would build it at home: its gigabyte is this script's, not the server's.
    plain = io.BytesIO()
    torch.save({"conv1.0.weight": torch.zeros(256 * 1024**2)}, plain)
    bomb = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(plain.getvalue())) as source, zipfile.ZipFile(bomb, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info), compress_type=zipfile.ZIP_DEFLATED)
    del plain
    size = len(bomb.getvalue()) / 1e6
    attempt(f"a {size:.1f} MB .pth holding a 1 GiB tensor (deflated)",
            lambda: read_weights_file(bomb.getvalue(), "tiny.pth", settings.current().uploads))  # fmt: skip
    old = io.BytesIO()
    torch.save({"w": torch.zeros(4)}, old, _use_new_zipfile_serialization=False)
    attempt("a .pth in PyTorch's format from before 1.6",
            lambda: read_weights_file(old.getvalue(), "old.pth", settings.current().uploads))  # fmt: skip


def many_tabs_of_one_student() -> None:
    from transfer_core import settings
    from transfer_core.data import session_memory, user_data
    from transfer_core.data.registry import RawDataset

    limits, before = settings.current().uploads, rss_mb()
    for tab in range(1, 9):  # each its own 262 MB of pixels, as eight uploads would be
        dataset = RawDataset(np.ones((87, 1024, 1024, 3), np.uint8), np.arange(87) % 2, ["a", "b"])
        session_memory.seen(f"tab-{tab}")
        user_data.keep_dataset(f"tab-{tab}", "big", dataset, limits)
        del dataset
    released = [tab for tab in range(1, 9) if session_memory.released_since_last_told(f"tab-{tab}")]
    report(
        "8 tabs, each keeping a 262 MB dataset (each tab is a session with its own 300 MB bound)",
        f"served: all sessions hold {session_memory.memory_held() / 1e6:.0f} MB together (server bound "
        f"{limits.server_memory_mb} MB); released, least recently seen first, and told: tabs {released}",
        before,
    )


def markdown_from_a_link() -> None:
    from ui.i18n import literal

    value = "folder:[Your session expired - log in here](http://x/phish) ![t](http://x/pixel.png) <b>b</b> www.x.com"
    report(
        "Markdown, HTML and autolinks in a link's dataset name", f"shown as text, sent as: {literal(value)!r}", rss_mb()
    )


def impersonation() -> None:
    from ui.session import owner_id

    secret = "4f0c2a9e8b7d4c1e9a3b5d7f1e2c4a6b"
    me = owner_id(secret)
    report(
        "a tab presenting another tab's owner id (a run folder's name) as its own secret",
        f"served as a new session: owner_id(owner id) = {owner_id(me)[:8]}… is not {me[:8]}…",
        rss_mb(),
    )


def folder_link_to_saved_data() -> None:
    from transfer_core import settings
    from transfer_core.resolve import raw_dataset

    saved = settings.current().data_dir / "users" / "0123abcd" / "datasets" / "secret"
    for name in ("red", "blue"):
        (saved / name).mkdir(parents=True)
    os.environ["TRANSFER_LAB_FOLDER_ROOTS"] = str(settings.current().home)  # an operator shares the whole lab folder
    attempt("dataset=folder:<data>/users/<id>/datasets/secret, with the lab folder shared",
            lambda: raw_dataset(f"folder:{saved}", "student"))  # fmt: skip


def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        os.environ |= {"TRANSFER_LAB_HOME": home, "TRANSFER_LAB_OFFLINE": "1"}
        print(f"hostile cases against one server process (memory at start {rss_mb():.0f} MB):")
        for case in (link_asking_for_47_gb, compressed_weights, many_tabs_of_one_student, markdown_from_a_link,
                     impersonation, folder_link_to_saved_data):  # fmt: skip
            case()


if __name__ == "__main__":
    main()
