"""Errors the core raises on purpose. Each carries a sentence a learner can act on."""


class TransferLabError(Exception):
    """Base class: the message says what went wrong and what to do about it."""


class ConfigError(TransferLabError, ValueError):
    """A TrainConfig field holds a value the engine cannot use."""

    def __init__(self, field: str, message: str):
        self.field, self.message = field, message
        super().__init__(f"{field}: {message}")


class WeightsUnavailable(TransferLabError):
    """Pretrained weights are neither cached nor downloadable right now."""


class DatasetUnavailable(TransferLabError):
    """A dataset is not on disk and cannot be downloaded right now."""


class QueueFull(TransferLabError):
    """The runner's waiting queue is at its bound."""


class RunNotFound(TransferLabError, KeyError):
    """No run with that id belongs to the caller."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "run not found"


class RunStillLive(TransferLabError):
    """A queued or running run cannot be deleted."""


class DataChanged(TransferLabError):
    """The data a finished run was trained on is no longer what its name gives."""


class StoreUnavailable(TransferLabError):
    """The run store cannot be written right now (disk full, read-only)."""


class RunDamaged(TransferLabError):
    """A run's files cannot be read (a damaged disk, or written by hand)."""
