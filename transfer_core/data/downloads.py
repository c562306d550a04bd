"""Downloads of public datasets and torchvision weights, with progress, checked, once.

Each file goes to a temporary name beside its target and is renamed only once its checksum
matches, so an interrupted download never leaves a half file that looks finished. The sources
are torchvision's own (its URLs and checksums), so a finished download is exactly what
torchvision itself would read.
"""

import hashlib
import os
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from torchvision.datasets import CIFAR10, FashionMNIST
from torchvision.datasets.utils import extract_archive

from transfer_core import settings
from transfer_core.errors import TransferLabError
from transfer_core.messages import say
from transfer_core.models.weights import TORCHVISION_WEIGHTS, downloads_allowed, torchvision_cache_path

Progress = Callable[[str, int, int | None], None]  # file name, its bytes so far, its total if known
CHUNK = 1 << 16
TIMEOUT_S = 30


class DownloadFailed(TransferLabError):
    """A download could not finish; the message says what to try."""


@dataclass(frozen=True)
class Remote:
    url: str
    target: Path  # where the checked file is kept
    md5: str = ""  # torchvision publishes md5 for datasets
    sha256_prefix: str = ""  # and a sha256 prefix in each weights file's name
    unpack_to: Path | None = None  # archives are unpacked here once checked


def dataset_files(name: str) -> list[Remote]:
    """What must be fetched for a registry dataset, where torchvision will look for it."""
    root = settings.current().data_dir
    if name == "cifar10":
        return [Remote(CIFAR10.url, root / CIFAR10.filename, md5=CIFAR10.tgz_md5, unpack_to=root)]
    if name == "fashion_mnist":
        raw = root / "FashionMNIST" / "raw"
        mirror = FashionMNIST.mirrors[0]
        return [Remote(mirror + file, raw / file, md5=md5, unpack_to=raw) for file, md5 in FashionMNIST.resources]
    raise DownloadFailed(say("download.nothing", "{name} has nothing to download.", name=name))


def weights_file(backbone: str) -> Remote:
    if backbone not in TORCHVISION_WEIGHTS:
        raise DownloadFailed(
            say("download.no_weights", "{backbone} has no torchvision weights to download.", backbone=backbone)
        )
    target = torchvision_cache_path(backbone)
    return Remote(TORCHVISION_WEIGHTS[backbone].url, target, sha256_prefix=target.name.split("-")[-1].split(".")[0])


def fetch(files: list[Remote], progress: Progress = lambda name, done, total: None) -> None:
    """Download every file not yet present (and unpack archives), reporting progress per file."""
    if not downloads_allowed():
        raise DownloadFailed(
            say("download.off", "downloads are switched off here (TRANSFER_LAB_OFFLINE); copy the files in by hand.")
        )
    for remote in files:
        if not remote.target.exists():
            download(remote, progress)
        if remote.unpack_to is not None:
            extract_archive(str(remote.target), str(remote.unpack_to))


def download(remote: Remote, progress: Progress) -> None:
    remote.target.parent.mkdir(parents=True, exist_ok=True)
    partial = remote.target.with_name(f".{remote.target.name}.{uuid.uuid4().hex[:8]}.part")
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    try:
        with urllib.request.urlopen(remote.url, timeout=TIMEOUT_S) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            done = 0
            while chunk := response.read(CHUNK):
                out.write(chunk)
                md5.update(chunk)
                sha256.update(chunk)
                done += len(chunk)
                progress(remote.target.name, done, total)
        check_digest(remote, md5.hexdigest(), sha256.hexdigest())
        os.replace(partial, remote.target)
    except OSError as err:  # URLError, timeouts and full disks are all OSErrors
        sentence = "downloading {url} failed ({error}); check the connection and try again."
        raise DownloadFailed(say("download.failed", sentence, url=remote.url, error=str(err))) from err
    finally:
        partial.unlink(missing_ok=True)


def check_digest(remote: Remote, md5: str, sha256: str) -> None:
    if (remote.md5 and md5 != remote.md5) or (remote.sha256_prefix and not sha256.startswith(remote.sha256_prefix)):
        raise DownloadFailed(
            say("download.damaged", "{url} arrived damaged (its checksum does not match); try again.", url=remote.url)
        )
