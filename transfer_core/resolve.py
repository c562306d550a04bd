"""From a TrainConfig (an inert description) to what a run needs: checked against the registries,
the owner's own data and weights, and the run store, in one place.

`check(config)` asks the registries only (is there such a backbone, does it have these weights,
how many stages does it have), cheaply, for links and widgets. `resolve(config, owner, store)`
then loads the data, the initial weights and the model, once, where a run starts. Both fail with
one ConfigError or TransferLabError naming the field or saying what to do.
"""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from transfer_core import settings
from transfer_core.config import ALL_STAGES, CSV_PREFIX, FOLDER_PREFIX, MINE_PREFIX, TrainConfig
from transfer_core.data import user_data
from transfer_core.data.preparation import PreparedData, fitting_sizes, prepare_data
from transfer_core.data.registry import (
    DATASETS,
    ON_COMMAND_LINE,
    RawDataset,
    check_dataset_name,
    dataset_available,
    folder_classes,
    folder_reads,
    load_shared,
    reads,
)
from transfer_core.data.shared_folders import check_shared, read_shared_folder
from transfer_core.errors import ConfigError, DataChanged, RunNotFound, TransferLabError
from transfer_core.messages import join_said, message_of, say, say_kind
from transfer_core.models.backbones import BACKBONES
from transfer_core.models.strategies import TransferModel, initial_model
from transfer_core.runners.memory_budget import check_budget
from transfer_core.store.runs import RunRecord, RunStore
from transfer_core.text.upload import read_csv_file


@dataclass(frozen=True)
class ResolvedRun:
    """Everything a run trains with, resolved once from its config."""

    config: TrainConfig
    device: torch.device
    data: PreparedData
    model: TransferModel
    fingerprint: dict


DEFAULT_BACKBONE = {"words": "word_gru", "sound": "speech_cnn", "text": "minilm_l6",
                    "images": TrainConfig.backbone}  # for data of a kind  # fmt: skip
DEFAULT_DATASET = {"words": "words_near", "sound": "speech_digits", "text": "definitions",
                   "images": TrainConfig.dataset}  # for a backbone  # fmt: skip

# --- registry checks (no data, no weights) ------------------------------------------------------


def check(config: TrainConfig) -> TrainConfig:
    """The config's names exist in the registries and its stage counts fit its backbone."""
    if config.backbone not in BACKBONES:
        raise ConfigError(
            "backbone",
            say(
                "resolve.unknown_backbone",
                "unknown backbone {name}; choose one of {names}.",
                name=repr(config.backbone),
                names=", ".join(BACKBONES),
            ),
        )
    spec = BACKBONES[config.backbone]
    check_dataset_name(config.dataset)
    if config.starts_pretrained and config.weights == "imagenet" and not spec.has_pretrained:
        raise ConfigError(
            "weights",
            say(
                "resolve.no_imagenet",
                "{backbone} has no ImageNet weights; choose random weights.",
                backbone=config.backbone,
            ),
        )
    if not ALL_STAGES <= config.frozen_stages <= spec.num_stages:
        raise ConfigError(
            "frozen_stages",
            say(
                "resolve.frozen_range",
                "must be -1 (all) or 0..{stages} for {backbone}.",
                stages=spec.num_stages,
                backbone=config.backbone,
            ),
        )
    if config.init_stages > spec.num_stages:
        raise ConfigError(
            "init_stages",
            say(
                "resolve.only_stages",
                "{backbone} has only {stages} stages.",
                backbone=config.backbone,
                stages=spec.num_stages,
            ),
        )
    check_modality(config, spec.reads)
    return config


def dataset_reads(name: str, owner: str | None) -> str:
    """ "images", "words" or "sound": what a dataset holds; a session's own dataset is asked of its owner's
    copy, a folder of its files."""
    if name.startswith(MINE_PREFIX) and owner is not None:
        return user_data.dataset_kind(owner, name.removeprefix(MINE_PREFIX))
    if name.startswith(FOLDER_PREFIX):
        folder = name.removeprefix(FOLDER_PREFIX)
        try:
            root = check_shared(folder) if owner is not None else Path(folder)
        except TransferLabError:
            return "images"  # resolve says why the folder is refused
        return folder_reads(root) if root.is_dir() else "images"
    return reads(name)


def fits(backbone_reads: str, data_reads: str) -> bool:
    """A backbone reads data of its own kind; an image backbone also reads sound, drawn as spectrograms:
    knowledge crossing from images to sound."""
    return backbone_reads == data_reads or (backbone_reads, data_reads) == ("images", "sound")


def settings_for_data(config: TrainConfig, dataset: str, owner: str | None = None) -> dict:
    """What else changes when a config's dataset becomes `dataset`: a backbone that reads what it holds
    (the default one for it), and no image-only settings for words or sound. Nothing when all fits."""
    data_reads = dataset_reads(dataset, owner)
    changes: dict = {}
    if not fits(BACKBONES[config.backbone].reads, data_reads):
        changes = {"backbone": DEFAULT_BACKBONE[data_reads], "frozen_stages": ALL_STAGES}
        if config.strategy != "scratch":
            changes["weights"] = "imagenet"  # the new backbone's pretrained weights (an own encoder's: its source)
    if data_reads != "images":
        changes |= {"augment": False, "val_shift": "none"}
    return {key: value for key, value in changes.items() if getattr(config, key) != value}


def data_for_backbone(config: TrainConfig, backbone: str) -> dict:
    """What else changes when a config's backbone becomes `backbone`: a dataset it can read (the default
    for what it reads, at sizes that fit), and no image-only settings for words or sound. Nothing when
    it fits."""
    backbone_reads = BACKBONES[backbone].reads
    if fits(backbone_reads, reads(config.dataset)):
        return {}
    dataset = DEFAULT_DATASET[backbone_reads]
    changes = {"dataset": dataset, "class_subset": "", **fitting_sizes(DATASETS[dataset].smallest_class)}
    if backbone_reads != "images":
        changes |= {"augment": False, "val_shift": "none"}
    return changes


def check_modality(config: TrainConfig, backbone_reads: str, data_reads: str | None = None) -> None:
    """A word encoder reads words, a sound encoder sound, an image backbone images or sound (as
    spectrograms); image-only settings stay off for words and sound. A session's own dataset is checked
    once its owner's copy is at hand (`data_reads`), a folder once its files are read."""
    if data_reads is None and config.dataset.startswith((MINE_PREFIX, FOLDER_PREFIX)):
        return
    data_reads = data_reads or reads(config.dataset)
    if not fits(backbone_reads, data_reads):
        fitting = [name for name, spec in BACKBONES.items() if fits(spec.reads, data_reads)]
        sentence = "{dataset} holds {holds} and {backbone} reads {reads}; choose one of {fitting}."
        raise ConfigError(
            "backbone",
            say(
                "resolve.modality",
                sentence,
                dataset=config.dataset,
                holds=say_kind(data_reads),
                backbone=config.backbone,
                reads=say_kind(backbone_reads),
                fitting=", ".join(fitting),
            ),
        )
    if data_reads != "images" and config.augment:
        raise ConfigError(
            "augment",
            say(
                "resolve.augment",
                "crop-and-flip augmentation is for images; turn it off for {kind}.",
                kind=say_kind(data_reads),
            ),
        )
    if data_reads != "images" and config.val_shift != "none":
        raise ConfigError(
            "val_shift",
            say(
                "resolve.val_shift",
                "shifted validation copies are image changes; choose none for {kind}.",
                kind=say_kind(data_reads),
            ),
        )


def resolve_device(requested: str) -> torch.device:
    if requested == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "device",
            say("resolve.no_cuda", "CUDA was requested but this machine has no usable CUDA GPU; choose cpu or auto."),
        )
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)


# --- data -----------------------------------------------------------------------------------------


def raw_dataset(name: str, owner: str | None) -> RawDataset:
    """The whole dataset `name` names; `mine:NAME` only as the owner who made it. A session (an owner)
    reads `folder:` datasets only under the folders the server shares; the command line (no owner)
    reads any folder it is given."""
    if name.startswith(MINE_PREFIX):
        return user_data.load_dataset(owner, name.removeprefix(MINE_PREFIX))
    if name.startswith(FOLDER_PREFIX) and owner is not None:
        return read_shared_folder(name.removeprefix(FOLDER_PREFIX))
    if name.startswith(CSV_PREFIX) and owner is None:
        return read_csv_file(name.removeprefix(CSV_PREFIX), settings.current().uploads).dataset
    return load_shared(name)


def available(name: str, owner: str | None) -> tuple[bool, str]:
    """Whether `name` loads without the network right now, and why (never downloads)."""
    if name.startswith(MINE_PREFIX):
        found = owner is not None and name.removeprefix(MINE_PREFIX) in user_data.dataset_names(owner)
        return found, say("resolve.own_dataset", "your own dataset") if found else say(
            "resolve.no_own_dataset", "this session has no dataset {name}", name=repr(name)
        )
    if name.startswith(CSV_PREFIX):
        if owner is not None:
            return False, ON_COMMAND_LINE
        found = Path(name.removeprefix(CSV_PREFIX)).is_file()
        return found, name.removeprefix(CSV_PREFIX) if found else say("resolve.no_file", "no such file")
    if name.startswith(FOLDER_PREFIX) and owner is not None:
        try:
            folder = check_shared(name.removeprefix(FOLDER_PREFIX))
        except TransferLabError as err:
            return False, message_of(err)
        shared = say("resolve.shared_folder", "a folder this server shares")
        return folder.is_dir(), shared if folder.is_dir() else say("resolve.not_folder", "not a folder")
    return dataset_available(name)


def prepared_data(config: TrainConfig, owner: str | None) -> PreparedData:
    """The data a config trains and validates on, once the memory it needs is known to fit."""
    check_budget(config, class_count(config, owner))
    raw = raw_dataset(config.dataset, owner)
    backbone_reads = BACKBONES[config.backbone].reads
    check_modality(config, backbone_reads, raw.kind)  # an own dataset's kind is known now
    return prepare_data(raw, config.train_per_class, config.val_per_class, config.image_size, config.seed,
                        config.class_indices, hears=backbone_reads == "sound")  # fmt: skip


def class_count(config: TrainConfig, owner: str | None) -> int:
    """How many classes the run's head tells apart: the class subset's, or the whole dataset's."""
    if config.class_indices:
        return len(config.class_indices)
    if config.dataset in DATASETS:
        return DATASETS[config.dataset].num_classes  # known without loading (or downloading) the files
    if config.dataset.startswith(MINE_PREFIX):  # a saved copy's classes are its folders: no image is read
        return len(user_data.dataset_classes(owner, config.dataset.removeprefix(MINE_PREFIX)))
    if config.dataset.startswith(FOLDER_PREFIX):  # its class folders, counted without decoding an image
        folder = config.dataset.removeprefix(FOLDER_PREFIX)
        root = check_shared(folder) if owner is not None else Path(folder)
        if root.is_dir():  # at most this many: a class with too few images is left out when it is read
            return len(folder_classes(root))
    return len(raw_dataset(config.dataset, owner).classes)


def fingerprint(config: TrainConfig, owner: str | None, data: PreparedData) -> dict:
    """What identifies the data a run saw: if any of it differs later, the run's weights describe
    other data, and evaluating them against it would mislead."""
    own = config.dataset.startswith(MINE_PREFIX)
    return {
        "dataset": config.dataset,
        "owner": hashlib.sha256(owner.encode()).hexdigest()[:16] if own and owner else "",
        "classes": list(data.classes),
        "seed": config.seed,
        "train": len(data.train_y),
        "val": len(data.val_y),
        "val_labels": _digest(data.val_y.numpy()),
        "val_images": _digest(data.val_x.numpy()),
    }


def _digest(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]


def verified_data(record: RunRecord) -> PreparedData:
    """The data a finished run was trained on, as it is now; DataChanged when it is not what the run saw."""
    data = prepared_data(record.config, record.owner)
    recorded = record.fingerprint
    if not recorded:  # a run stored before fingerprints: the best that can be done is the class list
        if list(data.classes) != list(record.classes):
            raise DataChanged(_changed_message(record, ["classes"]))
        return data
    now = fingerprint(record.config, record.owner, data)
    changed = [key for key in recorded if recorded[key] != now.get(key)]
    if changed:
        raise DataChanged(_changed_message(record, changed))
    return data


CHANGED_PARTS = {
    "classes": say("resolve.part_classes", "its classes"),
    "train": say("resolve.part_train", "the number of training images"),
    "val": say("resolve.part_val", "the validation images"),
}


def _changed_message(record: RunRecord, changed: list[str]) -> str:
    what = {"classes": "classes", "train": "train", "val": "val", "val_labels": "val", "val_images": "val"}
    parts = sorted({what.get(key, key) for key in changed})
    name = record.config.dataset.removeprefix(MINE_PREFIX)
    sentence = (
        "the dataset {name} has changed since run {run} trained on it ({parts} differ), "
        "so its results would describe other images. Train a new run on the dataset as it is now."
    )
    parts_said = [CHANGED_PARTS.get(part, part) for part in parts]
    return say("resolve.data_changed", sentence, name=repr(name), run=record.run_id, parts=join_said(parts_said))


# --- weights and the model ----------------------------------------------------------------------


def starting_weights(config: TrainConfig, owner: str | None) -> dict[str, torch.Tensor] | None:
    """Weights the owner brought (`weights=mine:NAME`), or None for the registry's own."""
    if not config.starts_pretrained or not config.weights.startswith(MINE_PREFIX):
        return None
    return user_data.load_weights(owner, config.weights.removeprefix(MINE_PREFIX), config.backbone)


def copied_stages(config: TrainConfig, owner: str | None, store: RunStore | None) -> dict[str, torch.Tensor] | None:
    """The finished run `init_from` names, from this runner's store, and only if `owner` may read it."""
    if not config.init_from:
        return None
    if store is None:
        raise ConfigError(
            "init_from", say("resolve.no_store", "copying stages from a run needs the run store that holds it.")
        )
    try:
        record = store.load(config.init_from)
    except RunNotFound:
        record = None
    if record is None or (owner is not None and record.owner != owner and not record.shared):
        raise ConfigError(
            "init_from", say("resolve.no_run", "no run {run} of yours to copy stages from.", run=repr(config.init_from))
        )
    if record.status != "done" or record.config.backbone != config.backbone:
        raise ConfigError(
            "init_from",
            say(
                "resolve.not_finished",
                "run {run} must be a finished {backbone} run.",
                run=config.init_from,
                backbone=config.backbone,
            ),
        )
    return store.load_weights(config.init_from)


def model_for(config: TrainConfig, num_classes: int, owner: str | None, store: RunStore | None) -> TransferModel:
    """The model a run starts from, exactly as its training did."""
    return initial_model(config, num_classes, starting_weights(config, owner), copied_stages(config, owner, store))


def resolve(config: TrainConfig, owner: str | None = None, store: RunStore | None = None) -> ResolvedRun:
    """Everything the run `config` describes, for `owner`, with earlier runs read from `store`."""
    check(config)
    device = resolve_device(config.device)
    with naming("dataset"):
        data = prepared_data(config, owner)
    with naming("weights"):
        model = model_for(config, len(data.classes), owner, store).to(device)
    return ResolvedRun(config, device, data, model, fingerprint(config, owner, data))


@contextmanager
def naming(field: str) -> Iterator[None]:
    """Unavailable data or weights, said as the field of the config that asked for them."""
    try:
        yield
    except ConfigError:
        raise  # already names its own field
    except TransferLabError as err:
        raise type(err)(f"{field}: {err}") from err
