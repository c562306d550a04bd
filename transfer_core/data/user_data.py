"""Each session's own datasets and weights, kept apart from every other session's.

A dataset a session uploads or captures lives in memory under the session's owner; when the user
saves it, it is written as class folders of PNGs (WAV files for sound) under `<data folder>/users/<owner>/datasets/`.
Uploaded weights are checked and always written as safetensors under `.../weights/`, so no pickle
is ever kept. Configs name them `mine:<name>`; only the owner who made them can resolve that name.
The owner's total (memory and disk) is bounded by the session storage limit; what sessions hold in
memory is kept, counted and released by session_memory.py.
"""

import re
import shutil
import uuid
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from transfer_core import settings
from transfer_core.config import MINE_PREFIX
from transfer_core.data.registry import RawDataset, folder_classes, folder_reads, load_folder
from transfer_core.data.session_memory import MEMORY, StorageFull, dataset_bytes, make_server_room, memory_held
from transfer_core.errors import DatasetUnavailable, TransferLabError, WeightsUnavailable
from transfer_core.messages import say
from transfer_core.settings import UploadLimits
from transfer_core.text import upload as text_upload
from transfer_core.words.word_lists import decode, encode

NAME_PATTERN = re.compile(r"\w[\w .-]{0,39}")  # \w includes letters of every script, so 中文 names work
OWNER_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
WORDS_FOLDER = "words"  # a saved word dataset: words/<class>.txt inside its folder, a word per line


# --- names and folders --------------------------------------------------------------------------


NAMED = {"dataset": say("user.named_dataset", "dataset"), "weights": say("user.named_weights", "weights")}


def check_name(name: str, what: str = "dataset") -> str:
    """A name that is safe as a folder name and in a URL; TransferLabError otherwise."""
    if not NAME_PATTERN.fullmatch(name or "") or name != name.strip():
        sentence = (
            "{what} name {name}: use 1 to 40 letters, digits, spaces, '-', '_' or '.', starting with a letter or digit."
        )
        raise TransferLabError(say("user.bad_name", sentence, what=NAMED[what], name=repr(name)))
    return name


def owner_dir(owner: str) -> Path:
    """This owner's folder inside the data folder; the owner id is checked so it cannot climb out."""
    if not OWNER_PATTERN.fullmatch(owner or ""):
        raise TransferLabError(say("user.bad_owner", "owner {owner} is not a valid session id.", owner=repr(owner)))
    return settings.current().data_dir / "users" / owner


def dataset_folder(owner: str, name: str) -> Path:
    return owner_dir(owner) / "datasets" / check_name(name)


def weights_file(owner: str, name: str) -> Path:
    return owner_dir(owner) / "weights" / f"{check_name(name, 'weights')}.safetensors"


def mine(name: str) -> str:
    return MINE_PREFIX + name


# --- datasets -----------------------------------------------------------------------------------


def keep_dataset(owner: str, name: str, dataset: RawDataset, limits: UploadLimits) -> None:
    """Hold a dataset in the session's memory under `name` (replacing one of that name)."""
    check_name(name)
    with MEMORY.lock:
        held = MEMORY.datasets.get(owner, {})
        replaced = dataset_bytes(held[name]) if name in held else 0
        check_room(owner, dataset_bytes(dataset) - replaced, limits)
        make_server_room(owner, dataset_bytes(dataset) - replaced, limits)
        MEMORY.datasets.setdefault(owner, {})[name] = dataset


def save_dataset(owner: str, name: str, limits: UploadLimits) -> Path:
    """Write a session dataset into the data folder as class folders of PNGs, so it outlives the server."""
    dataset = session_datasets(owner).get(name)
    if dataset is None:
        raise DatasetUnavailable(
            say("user.nothing_to_save", "no dataset {name} in this session to save.", name=repr(name))
        )
    target = dataset_folder(owner, name)
    # The PNGs' size is known only once written: staging already counts, the old copy will go.
    return write_folder(dataset, target, check=lambda: check_room(owner, -_disk_bytes(target), limits))


def write_folder(dataset: RawDataset, target: Path, check=lambda: None) -> Path:
    """The dataset as class folders of PNGs at `target` (a word dataset: WORDS_FOLDER/<class>.txt, a word
    per line), replacing what was there only once all is written and `check()` has not raised."""
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}")
    try:
        if dataset.kind == "words":
            _write_words(dataset, staging / WORDS_FOLDER)
        elif dataset.kind == "text":
            text_upload.write_saved(dataset, staging)
        elif dataset.kind == "sound":
            _write_clips(dataset, staging)
        else:
            _write_images(dataset, staging)
        check()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return target


def _write_images(dataset: RawDataset, staging: Path) -> None:
    for index, (image, label) in enumerate(zip(dataset.images, dataset.labels)):
        folder = staging / dataset.classes[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{index:05d}.png")


def _write_clips(dataset: RawDataset, staging: Path) -> None:
    import soundfile

    from transfer_core.sound.clips import SAMPLE_RATE

    for index, (clip, label) in enumerate(zip(dataset.images, dataset.labels)):
        folder = staging / dataset.classes[label]
        folder.mkdir(parents=True, exist_ok=True)
        soundfile.write(folder / f"{index:05d}.wav", clip, SAMPLE_RATE, subtype="PCM_16")


def _write_words(dataset: RawDataset, folder: Path) -> None:
    folder.mkdir(parents=True)
    for label, name in enumerate(dataset.classes):
        words = [decode(tokens) for tokens in dataset.images[dataset.labels == label]]
        (folder / f"{name}.txt").write_text("\n".join(words) + "\n", encoding="utf-8")


def _read_words(folder: Path) -> RawDataset:
    """A saved word dataset: its classes in name order, each file's words in order."""
    files = sorted(folder.glob("*.txt"))
    lists = [file.read_text(encoding="utf-8").split() for file in files]
    tokens = np.stack([encode(word) for words in lists for word in words])
    labels = np.concatenate([np.full(len(words), i, dtype=np.int64) for i, words in enumerate(lists)])
    return RawDataset(tokens, labels, [file.stem for file in files], kind="words")


def dataset_kind(owner: str | None, name: str) -> str:
    """ "words", "sound" or "images": what the owner's dataset `name` holds, without reading it."""
    held, folder = _find_dataset(owner, name)
    if held is not None:
        return held.kind
    if (folder / text_upload.SAVED_FILE).is_file():
        return "text"
    return "words" if (folder / WORDS_FOLDER).is_dir() else folder_reads(folder)


def session_datasets(owner: str) -> dict[str, RawDataset]:
    with MEMORY.lock:
        return dict(MEMORY.datasets.get(owner, {}))


def saved_datasets(owner: str) -> list[str]:
    folder = owner_dir(owner) / "datasets"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def dataset_names(owner: str) -> list[str]:
    """Every dataset this owner can train on: in memory or saved."""
    return sorted(set(session_datasets(owner)) | set(saved_datasets(owner)))


def load_dataset(owner: str | None, name: str) -> RawDataset:
    """The owner's dataset `name`: the session's copy first, else the saved one."""
    held, folder = _find_dataset(owner, name)
    if held is not None:
        return held
    if (folder / text_upload.SAVED_FILE).is_file():
        return text_upload.read_saved(folder)
    return _read_words(folder / WORDS_FOLDER) if (folder / WORDS_FOLDER).is_dir() else load_folder(folder)


def dataset_classes(owner: str | None, name: str) -> list[str]:
    """The class names of the owner's dataset `name`, without reading a saved copy's images."""
    held, folder = _find_dataset(owner, name)
    if held is not None:
        return held.classes
    if (folder / text_upload.SAVED_FILE).is_file():
        return text_upload.saved_classes(folder)
    words = folder / WORDS_FOLDER
    return sorted(file.stem for file in words.glob("*.txt")) if words.is_dir() else folder_classes(folder)


def _find_dataset(owner: str | None, name: str) -> tuple[RawDataset | None, Path]:
    """The session's copy of `name` (or None) and the folder of its saved copy; DatasetUnavailable
    when it is neither held nor saved, or `owner` is no session."""
    if owner is None:
        raise DatasetUnavailable(
            say(
                "user.other_session",
                "{name} belongs to a session; open it from the session that made it.",
                name=mine(name),
            )
        )
    held = session_datasets(owner).get(name)
    folder = dataset_folder(owner, name)
    if held is None and not folder.is_dir():
        sentence = (
            "this session has no dataset named {name}. Upload or capture it on the My data page "
            "(datasets kept only in memory are gone after a server restart unless they were saved)."
        )
        raise DatasetUnavailable(say("user.no_dataset", sentence, name=repr(name)))
    return held, folder


def delete_dataset(owner: str, name: str) -> None:
    with MEMORY.lock:
        MEMORY.datasets.get(owner, {}).pop(name, None)
    folder = dataset_folder(owner, name)
    if folder.is_dir():
        shutil.rmtree(folder)


# --- the webcam draft ---------------------------------------------------------------------------


def webcam_shots(owner: str) -> dict[str, list[np.ndarray]]:
    with MEMORY.lock:
        return {name: list(shots) for name, shots in MEMORY.webcam.get(owner, {}).items()}


def add_webcam_class(owner: str, class_name: str) -> None:
    with MEMORY.lock:
        MEMORY.webcam.setdefault(owner, {}).setdefault(class_name, [])


def add_webcam_shot(owner: str, class_name: str, image: np.ndarray, limits: UploadLimits) -> None:
    with MEMORY.lock:
        check_room(owner, image.nbytes, limits)
        make_server_room(owner, image.nbytes, limits)
        MEMORY.webcam.setdefault(owner, {}).setdefault(class_name, []).append(image)


def remove_webcam_shot(owner: str, class_name: str, index: int) -> None:
    with MEMORY.lock:
        shots = MEMORY.webcam.get(owner, {}).get(class_name, [])
        if 0 <= index < len(shots):
            shots.pop(index)


def remove_webcam_class(owner: str, class_name: str) -> None:
    with MEMORY.lock:
        MEMORY.webcam.get(owner, {}).pop(class_name, None)


# --- weights ------------------------------------------------------------------------------------


def keep_weights(owner: str, name: str, backbone: str, state: dict[str, torch.Tensor], limits: UploadLimits) -> Path:
    """Write checked weights as safetensors, tagged with the backbone they fit."""
    target = weights_file(owner, name)
    size = sum(t.numel() * t.element_size() for t in state.values())
    check_room(owner, size - (target.stat().st_size if target.exists() else 0), limits)
    target.parent.mkdir(parents=True, exist_ok=True)
    tensors = {key: tensor.detach().contiguous().clone() for key, tensor in state.items()}
    save_file(tensors, target, metadata={"backbone": backbone})
    return target


def saved_weights(owner: str) -> dict[str, str]:
    """{weights name: backbone} for this owner."""
    folder = owner_dir(owner) / "weights"
    if not folder.is_dir():
        return {}
    return {file.stem: _weights_backbone(file) for file in sorted(folder.glob("*.safetensors"))}


def load_weights(owner: str | None, name: str, backbone: str) -> dict[str, torch.Tensor]:
    if owner is None:
        raise WeightsUnavailable(
            say(
                "user.other_weights",
                "{name} belongs to a session; open it from the session that brought it.",
                name=mine(name),
            )
        )
    file = weights_file(owner, name)
    if not file.exists():
        raise WeightsUnavailable(
            say(
                "user.no_weights",
                "this session has no weights named {name}; upload them on the Backbone page.",
                name=repr(name),
            )
        )
    made_for = _weights_backbone(file)
    if made_for != backbone:
        sentence = "weights {name} fit {made_for}, not {backbone}: choose {made_for} or others."
        raise WeightsUnavailable(
            say("user.weights_fit", sentence, name=repr(name), made_for=made_for, backbone=backbone)
        )
    return load_file(file)


def delete_weights(owner: str, name: str) -> None:
    weights_file(owner, name).unlink(missing_ok=True)


def _weights_backbone(file: Path) -> str:
    with safe_open(file, framework="pt") as f:
        return (f.metadata() or {}).get("backbone", "")


# --- storage accounting -------------------------------------------------------------------------


def storage_used(owner: str) -> int:
    """Bytes this owner holds: datasets in memory, webcam shots, and everything on disk."""
    return memory_held(owner) + _disk_bytes(owner_dir(owner))


def check_room(owner: str, extra: int, limits: UploadLimits) -> None:
    used = storage_used(owner)
    if used + extra > limits.session_bytes:
        sentence = (
            "this session would hold {size:.0f} MB; the limit is {limit} MB. Delete a dataset or weights you no "
            "longer need (My data page), or ask for TRANSFER_LAB_SESSION_STORAGE_MB to be raised."
        )
        raise StorageFull(say("user.storage_full", sentence, size=(used + extra) / 1e6, limit=limits.session_mb))


def _disk_bytes(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) if folder.is_dir() else 0


def dataset_table(owner: str) -> list[dict]:
    """One row per dataset this owner has, for tables."""
    held, saved = session_datasets(owner), set(saved_datasets(owner))
    rows = []
    for name in sorted(set(held) | saved):
        dataset = held.get(name)
        kept = ("memory and disk" if dataset is not None else "disk") if name in saved else "memory (not saved)"
        rows.append(
            {
                "dataset": name,
                "classes": ", ".join(dataset.classes) if dataset is not None else "",
                "images": len(dataset.images) if dataset is not None else None,
                "kept": kept,
            }
        )
    return rows
