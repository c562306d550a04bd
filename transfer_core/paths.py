"""Where Transfer Lab keeps data and runs; each folder can be moved by an environment variable."""

import os
from pathlib import Path


def home() -> Path:
    return Path(os.environ.get("TRANSFER_LAB_HOME", Path.home() / ".transfer-lab"))


def data_dir() -> Path:
    return Path(os.environ.get("TRANSFER_LAB_DATA", home() / "data"))


def runs_dir() -> Path:
    return Path(os.environ.get("TRANSFER_LAB_RUNS", home() / "runs"))


def features_dir() -> Path:
    return Path(os.environ.get("TRANSFER_LAB_FEATURES", home() / "features"))
