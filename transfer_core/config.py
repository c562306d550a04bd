"""TrainConfig: one frozen dataclass that fully describes a run.

It round-trips through JSON (the run store) and a URL query string (shareable
links, lesson presets). It is an inert value: building one imports no torch and reads
no registry or store. Each value's type, choice and range is checked on construction
(a bad one raises ConfigError naming the field); whether the backbone, its weights and
the dataset exist is `resolve`'s question, asked once where a run starts.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from functools import cache
from typing import Any, get_type_hints
from urllib.parse import parse_qsl, urlencode

from transfer_core.errors import ConfigError
from transfer_core.messages import say

STRATEGIES = ("scratch", "copy", "fusion", "lpft")
SHIFTS = ("none", "contrast", "blur", "rotation", "noise")
FUSION_MODES = ("concat", "sum", "gate")
OPTIMIZERS = ("adam", "adamw", "sgd")
WEIGHTS = ("imagenet", "random")
DEVICES = ("auto", "cpu", "cuda")
ALL_STAGES = -1  # frozen_stages value meaning "every stage": a linear probe


@dataclass(frozen=True)
class TrainConfig:
    backbone: str = "efficientnet_lite0"
    weights: str = "imagenet"  # imagenet | random | mine:NAME (uploaded); scratch always starts random
    dataset: str = "fashion_mnist"  # a registry name, "folder:/path/to/class/folders" or "mine:NAME"
    train_per_class: int = 200
    val_per_class: int = 100
    strategy: str = "copy"  # scratch | copy (feature copy) | fusion (feature fusion) | lpft (probe, then fine-tune)
    frozen_stages: int = ALL_STAGES  # first k stages frozen; -1 = all (linear probe), 0 = full fine-tune
    fusion_mode: str = "concat"  # concat | sum | gate
    optimizer: str = "adam"
    lr: float = 3e-3
    probe_epochs: int = 2  # lpft: epochs of linear probing before every stage is unfrozen
    finetune_lr_scale: float = 0.1  # lpft: the fine-tuning phase trains at lr times this
    stage_lr_decay: float = 1.0  # each stage further from the head trains at this times the next one's rate
    weight_decay: float = 0.0
    epochs: int = 5
    batch_size: int = 64
    image_size: int = 64
    augment: bool = False
    seed: int = 0
    val_shift: str = "none"  # also report accuracy on the validation images changed this way
    class_subset: str = ""  # e.g. "0,1,2,3,4": train on these classes only (relabelled in this order)
    init_from: str = ""  # a finished run whose first init_stages stages start this model
    init_stages: int = 0
    device: str = "auto"  # auto | cpu | cuda

    def __post_init__(self):
        for name, kind in _field_types().items():
            value = getattr(self, name)
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, name, float(value))
            elif not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
                raise ConfigError(
                    name, say("config.expected", "expected {kind}, got {value}.", kind=kind.__name__, value=repr(value))
                )
        _check_choices(self)
        _check_ranges(self)

    # --- round trips ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "TrainConfig":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ConfigError("config", say("config.not_json", "not valid JSON ({error}).", error=str(err))) from err
        if not isinstance(data, dict):
            raise ConfigError(
                "config", say("config.not_object", "a config in JSON must be an object of field: value pairs.")
            )
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TrainConfig":
        """Build from plain values or strings (query strings, command-line options)."""
        types_by_name = _field_types()
        values = {}
        for name, raw in data.items():
            if name not in types_by_name:
                raise ConfigError(name, say("config.unknown_field", "unknown field; known fields are {fields}.",
                                           fields=", ".join(types_by_name)))  # fmt: skip
            values[name] = _parse(name, raw, types_by_name[name])
        return cls(**values)

    def to_query_dict(self) -> dict[str, str]:
        return {k: _format(v) for k, v in self.to_dict().items()}

    def to_query(self) -> str:
        return urlencode(self.to_query_dict())

    @classmethod
    def from_query(cls, query: str | Mapping[str, str]) -> "TrainConfig":
        pairs = dict(parse_qsl(query.lstrip("?"), keep_blank_values=True)) if isinstance(query, str) else query
        return cls.from_dict({k: v for k, v in pairs.items() if k in _field_types()})

    def replace(self, **changes) -> "TrainConfig":
        return TrainConfig.from_dict({**self.to_dict(), **changes})

    @property
    def class_indices(self) -> tuple[int, ...]:
        return tuple(int(i) for i in self.class_subset.split(",")) if self.class_subset else ()

    @property
    def is_linear_probe(self) -> bool:
        return self.strategy == "copy" and self.frozen_stages == ALL_STAGES

    @property
    def starts_pretrained(self) -> bool:
        """The backbone starts from learned weights (ImageNet's, a word source's or the learner's)."""
        return self.strategy != "scratch" and self.weights != "random"

    def frozen_at_start(self, stages: int) -> int:
        """Stages frozen when training starts, of a backbone with `stages` stages: none from scratch, all for
        a linear probe and for LP-FT (which unfreezes them after its probing epochs), else `frozen_stages`."""
        if self.strategy == "scratch":
            return 0
        return stages if self.strategy == "lpft" or self.frozen_stages == ALL_STAGES else self.frozen_stages


@cache
def _field_types() -> dict[str, type]:
    hints = get_type_hints(TrainConfig)
    return {f.name: hints[f.name] for f in fields(TrainConfig)}


def _format(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _parse(name: str, raw: Any, kind: type) -> Any:
    if not isinstance(raw, str) or kind is str:
        return raw
    text = raw.strip()
    try:
        if kind is bool:
            if text.lower() in ("true", "1", "yes", "on"):
                return True
            if text.lower() in ("false", "0", "no", "off"):
                return False
            raise ValueError(text)
        return kind(text)
    except ValueError:
        raise ConfigError(
            name, say("config.expected", "expected {kind}, got {value}.", kind=kind.__name__, value=repr(raw))
        ) from None


NAME = re.compile(r"[a-z][a-z0-9_]*")  # a registry key: the registries themselves are resolve's to read
MINE_PREFIX = "mine:"  # a session's own dataset or weights, by the name the session gave them
FOLDER_PREFIX = "folder:"  # a folder of class sub-folders on the server
CSV_PREFIX = "csv:"  # a CSV file of text,label rows, named on the command line


def _check_choices(config: TrainConfig) -> None:
    choices = {
        "strategy": STRATEGIES,
        "fusion_mode": FUSION_MODES,
        "optimizer": OPTIMIZERS,
        "device": DEVICES,
        "val_shift": SHIFTS,
    }
    for name, allowed in choices.items():
        if getattr(config, name) not in allowed:
            raise ConfigError(name, say("config.not_one_of", "{value} is not one of {allowed}.",
                                           value=repr(getattr(config, name)), allowed=", ".join(allowed)))  # fmt: skip
    if not NAME.fullmatch(config.backbone):
        raise ConfigError(
            "backbone", say("config.not_backbone", "{value} is not a backbone name.", value=repr(config.backbone))
        )
    if config.weights not in WEIGHTS and not _prefixed(config.weights, MINE_PREFIX):
        raise ConfigError("weights", say("config.not_weights", "{value} is not one of {allowed} or mine:NAME.",
                                          value=repr(config.weights), allowed=", ".join(WEIGHTS)))  # fmt: skip
    if not NAME.fullmatch(config.dataset) and not any(
        _prefixed(config.dataset, p) for p in (FOLDER_PREFIX, MINE_PREFIX, CSV_PREFIX)
    ):
        raise ConfigError(
            "dataset",
            say(
                "config.not_dataset",
                "{value} is not a dataset name, folder:PATH, csv:PATH or mine:NAME.",
                value=repr(config.dataset),
            ),
        )
    if config.class_subset and not re.fullmatch(r"\d+(,\d+)+", config.class_subset):
        raise ConfigError(
            "class_subset",
            say("config.class_subset", "give two or more class numbers separated by commas, like 0,1,2."),
        )
    if config.init_from and not re.fullmatch(r"[0-9a-f]{12}", config.init_from):
        raise ConfigError("init_from", say("config.init_from", "must be the 12-character id of a finished run."))
    if (config.init_stages > 0) != bool(config.init_from):
        raise ConfigError(
            "init_stages",
            say(
                "config.init_together",
                "init_from and init_stages go together: a run to copy from, and how many stages.",
            ),
        )
    if config.strategy == "lpft" and config.probe_epochs >= config.epochs:
        raise ConfigError(
            "probe_epochs",
            say(
                "config.probe_epochs",
                "LP-FT needs epochs left to fine-tune: make it less than epochs ({epochs}).",
                epochs=config.epochs,
            ),
        )
    if config.frozen_stages < ALL_STAGES:
        raise ConfigError("frozen_stages", say("config.frozen_stages", "must be -1 (all) or a number of stages."))
    if config.init_stages < 0:
        raise ConfigError("init_stages", say("config.init_stages", "must be 0 or more."))


def _prefixed(value: str, prefix: str) -> bool:
    return value.startswith(prefix) and len(value) > len(prefix)


@dataclass(frozen=True)
class Range:
    """The values a field may take (`low`..`high`: the command line and scripts), and the narrower span a
    page's widget offers and a link may ask for (`page`, where it is narrower: a class server's slot is
    shared, and a widget cannot show a value beyond its own ends)."""

    low: float
    high: float
    page: tuple[float, float] | None = None

    @property
    def on_page(self) -> tuple[float, float]:
        return self.page or (self.low, self.high)


# The one table of numeric ranges: the config checks it, the pages' widgets draw their ends from it, and a
# link is held to its `on_page` span.
RANGES = {
    "train_per_class": Range(1, 6000),
    "val_per_class": Range(1, 6000),
    "lr": Range(1e-7, 10.0),
    "stage_lr_decay": Range(1e-3, 1.0, page=(0.1, 1.0)),
    "weight_decay": Range(0.0, 1.0),
    "epochs": Range(1, 500, page=(1, 50)),
    "batch_size": Range(1, 4096),
    "image_size": Range(16, 512),
    "seed": Range(0, 2**31 - 1),
    "probe_epochs": Range(1, 499, page=(1, 49)),
    "finetune_lr_scale": Range(1e-4, 1.0),
}


def _check_ranges(config: TrainConfig) -> None:
    for name, span in RANGES.items():
        _check_between(name, getattr(config, name), span.low, span.high)


def check_on_page(config: TrainConfig) -> TrainConfig:
    """`config`, if every value lies within what the pages offer; else ConfigError naming the field."""
    for name, span in RANGES.items():
        _check_between(
            name, getattr(config, name), *span.on_page, where=say("config.on_pages", " on this server's pages")
        )
    return config


def _check_between(name: str, value: float, low: float, high: float, where: str = "") -> None:
    if not low <= value <= high:
        sentence = "must be between {low:g} and {high:g}{where}, got {value}."
        raise ConfigError(name, say("config.between", sentence, low=low, high=high, where=where, value=repr(value)))
