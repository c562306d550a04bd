"""Upload limits: how much a session may bring in. Each is an environment variable with a safe default,
so a classroom server can be tightened or loosened without code changes (see the README)."""

import os
from dataclasses import dataclass

from transfer_core.errors import TransferLabError

MB = 1024 * 1024


class SettingError(TransferLabError):
    """An environment setting holds a value that is not a positive whole number."""


@dataclass(frozen=True)
class UploadLimits:
    upload_mb: int = 100  # one uploaded file (zip, images or weights), as sent
    members: int = 5000  # entries in one zip
    unpacked_mb: int = 500  # a zip's total size once uncompressed
    ratio: int = 100  # largest uncompressed : compressed ratio of one zip member
    pixels: int = 25_000_000  # width x height of one image (5000 x 5000)
    min_per_class: int = 5  # images a class needs to be kept
    session_mb: int = 300  # datasets and weights one session may hold, in memory and on disk
    server_memory_mb: int = 2048  # datasets and webcam shots all sessions together may hold in memory

    @property
    def upload_bytes(self) -> int:
        return self.upload_mb * MB

    @property
    def unpacked_bytes(self) -> int:
        return self.unpacked_mb * MB

    @property
    def session_bytes(self) -> int:
        return self.session_mb * MB

    @property
    def server_memory_bytes(self) -> int:
        return self.server_memory_mb * MB


ENVIRONMENT = {
    "upload_mb": "TRANSFER_LAB_MAX_UPLOAD_MB",
    "members": "TRANSFER_LAB_MAX_ZIP_MEMBERS",
    "unpacked_mb": "TRANSFER_LAB_MAX_UNPACKED_MB",
    "ratio": "TRANSFER_LAB_MAX_COMPRESSION_RATIO",
    "pixels": "TRANSFER_LAB_MAX_IMAGE_PIXELS",
    "min_per_class": "TRANSFER_LAB_MIN_IMAGES_PER_CLASS",
    "session_mb": "TRANSFER_LAB_SESSION_STORAGE_MB",
    "server_memory_mb": "TRANSFER_LAB_SERVER_MEMORY_MB",
}


def upload_limits() -> UploadLimits:
    """The limits in force: defaults, overridden by any environment variable that is set."""
    values = {}
    for field, variable in ENVIRONMENT.items():
        text = os.environ.get(variable, "").strip()
        if not text:
            continue
        if not text.isdigit() or int(text) < 1:
            raise SettingError(f"{variable}={text!r} must be a positive whole number; unset it for the default.")
        values[field] = int(text)
    return UploadLimits(**values)


def uploader_mb() -> int:
    """The per-file limit an upload widget shows and enforces: the setting, or its default while the
    setting is bad (which is reported where the upload is read)."""
    try:
        return upload_limits().upload_mb
    except SettingError:
        return UploadLimits().upload_mb
