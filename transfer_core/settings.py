"""Settings: the environment read in one place, checked, and handed down as one frozen dataclass.

Every field mirrors a row of the README's settings tables. A value that is not what its variable needs
is reported by name (`SettingError`, every bad variable in one message); nothing is silently replaced by
a default. `current()` reads the environment as it is now, once per distinct environment: a server reads
it once, and a test that changes a variable sees the change.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from transfer_core.errors import TransferLabError

MB = 1024 * 1024
RUNNERS = ("processes", "threads", "ray")
ASSETS = Path(__file__).parents[1] / "assets"  # what ships with the lab: word encoders, measured figures
TRUE = ("1", "true", "yes")


class SettingError(TransferLabError):
    """One or more environment settings hold a value their variable cannot take."""


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


UPLOAD_VARIABLES = {
    "upload_mb": "TRANSFER_LAB_MAX_UPLOAD_MB",
    "members": "TRANSFER_LAB_MAX_ZIP_MEMBERS",
    "unpacked_mb": "TRANSFER_LAB_MAX_UNPACKED_MB",
    "ratio": "TRANSFER_LAB_MAX_COMPRESSION_RATIO",
    "pixels": "TRANSFER_LAB_MAX_IMAGE_PIXELS",
    "min_per_class": "TRANSFER_LAB_MIN_IMAGES_PER_CLASS",
    "session_mb": "TRANSFER_LAB_SESSION_STORAGE_MB",
    "server_memory_mb": "TRANSFER_LAB_SERVER_MEMORY_MB",
}


@dataclass(frozen=True)
class Settings:
    home: Path
    data_dir: Path
    runs_dir: Path
    features_dir: Path
    offline: bool = False  # never download weights or data
    runner: str = "processes"  # where runs train: "processes", "threads" or "ray"
    slots: int | None = None  # runs training at once; None: 1 here, the cluster's CPUs per run with Ray
    ray_address: str | None = None
    ray_cpus_per_run: float = 1.0
    ray_gpus_per_run: float = 1.0
    run_memory_mb: int = 4096  # one worker process's bound
    memory_budget_mb: int | None = None  # one run's images and activations; None: a quarter of the machine's
    abandoned_minutes: float = 10.0
    session_idle_minutes: float = 60.0
    max_queue: int = 64
    feature_store_mb: int = 2048
    folder_roots: tuple[Path, ...] = ()  # folders whose class folders sessions may train on
    sharing: bool = False  # students may share runs with the class
    presets: Path | None = None  # a TOML file of teacher presets
    teacher_key: str = ""  # the secret in the teacher's link
    class_size: int = 30  # seeds a prepared lesson covers: one per student
    uploads: UploadLimits = field(default_factory=UploadLimits)

    @property
    def local_slots(self) -> int:
        return self.slots or 1

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        read = _Reader(environ)
        home = Path(read.text("TRANSFER_LAB_HOME") or Path.home() / ".transfer-lab")
        settings = cls(
            home=home,
            data_dir=Path(read.text("TRANSFER_LAB_DATA") or home / "data"),
            runs_dir=Path(read.text("TRANSFER_LAB_RUNS") or home / "runs"),
            features_dir=Path(read.text("TRANSFER_LAB_FEATURES") or home / "features"),
            offline=read.flag("TRANSFER_LAB_OFFLINE"),
            runner=read.choice("TRANSFER_LAB_RUNNER", RUNNERS),
            slots=read.whole("TRANSFER_LAB_SLOTS"),
            ray_address=read.text("RAY_ADDRESS") or None,
            ray_cpus_per_run=read.number("TRANSFER_LAB_RAY_CPUS_PER_RUN", 1.0),
            ray_gpus_per_run=read.number("TRANSFER_LAB_RAY_GPUS_PER_RUN", 1.0, zero_allowed=True),
            run_memory_mb=read.whole("TRANSFER_LAB_RUN_MEMORY_MB") or 4096,
            memory_budget_mb=read.whole("TRANSFER_LAB_MEMORY_BUDGET_MB"),
            abandoned_minutes=read.number("TRANSFER_LAB_ABANDONED_MINUTES", 10.0),
            session_idle_minutes=read.number("TRANSFER_LAB_SESSION_IDLE_MINUTES", 60.0),
            max_queue=read.whole("TRANSFER_LAB_MAX_QUEUE") or 64,
            feature_store_mb=read.whole("TRANSFER_LAB_FEATURE_STORE_MB") or 2048,
            folder_roots=tuple(
                Path(p).resolve() for p in read.text("TRANSFER_LAB_FOLDER_ROOTS").split(os.pathsep) if p.strip()
            ),  # fmt: skip
            sharing=read.flag("TRANSFER_LAB_SHARING"),
            presets=Path(read.text("TRANSFER_LAB_PRESETS")) if read.text("TRANSFER_LAB_PRESETS") else None,
            teacher_key=environ.get("TRANSFER_LAB_TEACHER_KEY", ""),  # a secret: taken as given, never echoed
            class_size=read.whole("TRANSFER_LAB_CLASS_SIZE") or 30,
            uploads=UploadLimits(
                **{
                    name: value
                    for name, variable in UPLOAD_VARIABLES.items()
                    if (value := read.whole(variable)) is not None
                }
            ),  # fmt: skip
        )
        if read.problems:
            raise SettingError("; ".join(read.problems) + ". Unset a variable for its default (see the README).")
        return settings


class _Reader:
    """Reads variables, collecting what is wrong with each instead of stopping at the first."""

    def __init__(self, environ: Mapping[str, str]):
        self.environ = environ
        self.problems: list[str] = []

    def text(self, variable: str) -> str:
        return self.environ.get(variable, "").strip()

    def flag(self, variable: str) -> bool:
        return self.text(variable).lower() in TRUE

    def whole(self, variable: str) -> int | None:
        text = self.text(variable)
        if not text:
            return None
        if not text.isdigit() or int(text) < 1:
            self.problems.append(f"{variable}={text!r} must be a positive whole number")
            return None
        return int(text)

    def number(self, variable: str, default: float, zero_allowed: bool = False) -> float:
        text = self.text(variable)
        try:
            value = float(text) if text else default
        except ValueError:
            value = -1.0
        if value < 0 or (value == 0 and not zero_allowed) or value != value:  # value != value: NaN
            self.problems.append(f"{variable}={text!r} must be a {'' if zero_allowed else 'positive '}number")
            return default
        return value

    def choice(self, variable: str, choices: tuple[str, ...]) -> str:
        text = self.text(variable) or choices[0]
        if text not in choices:
            self.problems.append(f"{variable}={text!r} must be one of {', '.join(choices)}")
            return choices[0]
        return text


VARIABLES = ("HOME", "RAY_ADDRESS")  # besides every TRANSFER_LAB_* variable


@lru_cache(maxsize=16)
def _settings_for(environment: tuple[tuple[str, str], ...]) -> Settings:
    return Settings.from_environment(dict(environment))


def current() -> Settings:
    """The settings of the environment as it is now, read once for each distinct environment."""
    relevant = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("TRANSFER_LAB_") or k in VARIABLES))
    return _settings_for(relevant)
