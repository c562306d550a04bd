"""Datasets: a registry of sources, deterministic per-class splits, and tensors
ready for a backbone (3 channels, its input size, its normalisation).

Images stay uint8 in memory until a batch is drawn, four times smaller than floats.
"""

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms.v2 as T
import torchvision.transforms.v2.functional as TF
from PIL import Image, UnidentifiedImageError

from transfer_core import settings
from transfer_core.config import FOLDER_PREFIX, MINE_PREFIX, TrainConfig
from transfer_core.errors import ConfigError, DatasetUnavailable
from transfer_core.models.backbones import Preprocessing
from transfer_core.models.weights import downloads_allowed
from transfer_core.words import word_lists

__all__ = ["FOLDER_PREFIX", "MINE_PREFIX"]  # a session's own (mine:) datasets are resolve's to find
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"]
FASHION_CLASSES += ["Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


@dataclass(frozen=True)
class RawDataset:
    images: np.ndarray | list[np.ndarray]  # uint8 (N, H, W) grey or (N, H, W, 3) colour; a list if sizes differ
    labels: np.ndarray  # int64 (N,)
    classes: list[str]
    kind: str = "images"  # or "words": `images` then holds int64 (N, MAX_LETTERS) tokens (see word_lists.py)


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    source: str
    load: Callable[[bool], RawDataset]  # argument: whether downloading is allowed
    available: Callable[[], tuple[bool, str]]
    num_classes: int  # known before the files are here
    smallest_class: int  # images in its smallest class, known before the files are here


# --- Fashion-MNIST ------------------------------------------------------------------------------


def _read_idx(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def _fashion_available() -> tuple[bool, str]:
    if (DEBIAN_FASHION_MNIST / "train-images-idx3-ubyte.gz").exists():
        return True, f"Debian package dataset-fashion-mnist ({DEBIAN_FASHION_MNIST})"
    if (settings.current().data_dir / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").exists():
        return True, "downloaded earlier into the lab's data folder"
    return False, _fashion_advice()


def _fashion_advice() -> str:
    return (
        "Fashion-MNIST is not on this machine. Install Debian's package "
        "(`sudo apt install dataset-fashion-mnist`) or connect to the internet once so torchvision "
        "can download it into the lab's data folder; scikit-learn digits works offline meanwhile."
    )


def _load_fashion(allow_download: bool) -> RawDataset:
    if (DEBIAN_FASHION_MNIST / "train-images-idx3-ubyte.gz").exists():
        images = _read_idx(DEBIAN_FASHION_MNIST / "train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
        labels = _read_idx(DEBIAN_FASHION_MNIST / "train-labels-idx1-ubyte.gz", 8).astype(np.int64)
        return RawDataset(images, labels, FASHION_CLASSES)
    from torchvision.datasets import FashionMNIST

    dataset = _torchvision_dataset(FashionMNIST, allow_download, _fashion_advice())
    return RawDataset(dataset.data.numpy(), dataset.targets.numpy().astype(np.int64), FASHION_CLASSES)


# --- CIFAR-10 -----------------------------------------------------------------------------------


def _cifar_available() -> tuple[bool, str]:
    if (settings.current().data_dir / "cifar-10-batches-py").exists():
        return True, "downloaded earlier into the lab's data folder"
    return False, _cifar_advice()


def _cifar_advice() -> str:
    return (
        "CIFAR-10 is not downloaded yet. Connect to the internet once and it downloads "
        "(170 MB) into the lab's data folder; offline, use Fashion-MNIST or digits."
    )


def _load_cifar(allow_download: bool) -> RawDataset:
    from torchvision.datasets import CIFAR10

    dataset = _torchvision_dataset(CIFAR10, allow_download, _cifar_advice())
    return RawDataset(dataset.data, np.asarray(dataset.targets, dtype=np.int64), list(dataset.classes))


def _torchvision_dataset(cls, allow_download: bool, advice: str):
    root = settings.current().data_dir
    try:
        return cls(root=str(root), train=True, download=False)
    except RuntimeError:
        if not allow_download:
            raise DatasetUnavailable(advice) from None
    try:
        root.mkdir(parents=True, exist_ok=True)
        return cls(root=str(root), train=True, download=True)
    except (OSError, RuntimeError) as err:  # URLError is an OSError
        raise DatasetUnavailable(f"{advice} (The download failed: {err}.)") from err


# --- scikit-learn digits (always offline) --------------------------------------------------------


def _load_digits(allow_download: bool) -> RawDataset:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.round(digits.images * (255 / 16)).astype(np.uint8)  # values are 0..16
    return RawDataset(images, digits.target.astype(np.int64), [str(d) for d in range(10)])


# --- any folder of class sub-folders -----------------------------------------------------------


def load_folder(root: Path) -> RawDataset:
    if not root.is_dir():
        raise DatasetUnavailable(f"{root} is not a folder; give a folder with one sub-folder of images per class.")
    classes = folder_classes(root)
    images, labels = [], []
    for label, name in enumerate(classes):
        for file in sorted((root / name).iterdir()):
            if file.suffix.lower() in IMAGE_SUFFIXES:
                images.append(_read_image(file))
                labels.append(label)
    if len(classes) < 2 or not images:
        raise DatasetUnavailable(f"{root} needs at least two sub-folders of images, one per class.")
    return RawDataset(images, np.asarray(labels, dtype=np.int64), classes)


def folder_classes(root: Path) -> list[str]:
    """A class folder's class names, its visible sub-folders in order, without reading an image."""
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _read_image(file: Path) -> np.ndarray:
    try:
        with Image.open(file) as image:
            return np.array(image.convert("RGB"))
    except (UnidentifiedImageError, OSError) as err:
        raise DatasetUnavailable(f"{file} is not a readable image ({err}); remove it or replace it.") from err


# --- words labelled by language (Debian's word lists) ------------------------------------------

WORD_SETS = {
    "words_source": ("English", "German", "French", "Spanish", "Italian", "Dutch"),  # the source task
    "words_near": ("Portuguese", "Catalan", "Swedish", "Danish"),  # held out, each related to the source's
    "words_far": ("Polish", "Portuguese", "Swedish"),  # adds a Slavic language the source never saw
    "words_all": tuple(word_lists.LANGUAGES),  # every word list: eleven languages
}


def _words_available(languages: tuple[str, ...]) -> tuple[bool, str]:
    missing = [word_lists.word_list_available(language) for language in languages]
    problems = [why for ok, why in missing if not ok]
    return (False, "; ".join(problems) + ".") if problems else (True, "Debian word lists in /usr/share/dict")


def _load_words(languages: tuple[str, ...]) -> RawDataset:
    ok, why = _words_available(languages)
    if not ok:
        raise DatasetUnavailable(why)
    lists = [word_lists.language_words(language) for language in languages]
    tokens = np.stack([word_lists.encode(word) for entries in lists for word in entries])
    labels = np.concatenate([np.full(len(entries), i, dtype=np.int64) for i, entries in enumerate(lists)])
    return RawDataset(tokens, labels, list(languages), kind="words")


def _word_dataset(name: str, title: str) -> DatasetInfo:
    languages = WORD_SETS[name]
    packages = ", ".join(word_lists.LANGUAGES[language][0] for language in languages)
    return DatasetInfo(name, title, f"Debian word lists ({packages})", lambda _allow_download: _load_words(languages),
                       lambda: _words_available(languages), len(languages), word_lists.CANDIDATES)  # fmt: skip


# --- registry -----------------------------------------------------------------------------------

DATASETS: dict[str, DatasetInfo] = {
    "fashion_mnist": DatasetInfo(
        "fashion_mnist",
        "Fashion-MNIST",
        "Debian dataset-fashion-mnist, else torchvision download",
        _load_fashion,
        _fashion_available,
        10,
        6000,
    ),
    "digits": DatasetInfo(
        "digits", "scikit-learn digits", "ships inside scikit-learn", _load_digits, lambda: (True, "bundled"), 10, 174
    ),
    "cifar10": DatasetInfo("cifar10", "CIFAR-10", "torchvision download", _load_cifar, _cifar_available, 10, 5000),
    "words_source": _word_dataset("words_source", "Words: 6 source languages"),
    "words_near": _word_dataset("words_near", "Words: 4 languages near the source's"),
    "words_far": _word_dataset("words_far", "Words: Polish beside 2 near languages"),
    "words_all": _word_dataset("words_all", "Words: all 11 languages"),
}


def reads(dataset: str) -> str:
    """What a dataset holds: "words" for the word sets, "images" for every other (own data included)."""
    return "words" if dataset in WORD_SETS else "images"


def check_dataset_name(name: str) -> None:
    """A registry name, folder:PATH or mine:NAME (whose owner resolve checks)."""
    if name in DATASETS or any(name.startswith(p) and len(name) > len(p) for p in (FOLDER_PREFIX, MINE_PREFIX)):
        return
    raise ConfigError(
        "dataset", f"unknown dataset {name!r}; choose one of {', '.join(DATASETS)}, folder:PATH or mine:NAME."
    )


def dataset_available(name: str) -> tuple[bool, str]:
    """Whether a registry dataset or a folder loads without the network right now, and why (never downloads)."""
    if name.startswith(FOLDER_PREFIX):
        folder = Path(name.removeprefix(FOLDER_PREFIX))
        return folder.is_dir(), str(folder) if folder.is_dir() else f"{folder} is not a folder"
    check_dataset_name(name)
    return DATASETS[name].available()


def load_shared(name: str, allow_download: bool | None = None) -> RawDataset:
    """A registry dataset or a folder, whole, in memory; DatasetUnavailable says how to get it."""
    check_dataset_name(name)
    if name.startswith(MINE_PREFIX):
        raise DatasetUnavailable(f"{name} belongs to a session; open it from the session that made it.")
    if name.startswith(FOLDER_PREFIX):  # read afresh: its files may change between runs
        return load_folder(Path(name.removeprefix(FOLDER_PREFIX)))
    return _load_registry(name, allow_download)


@lru_cache(maxsize=4)
def _load_registry(name: str, allow_download: bool | None) -> RawDataset:
    """A registry dataset, kept: its files come from a package or a checked download and do not change."""
    allow = downloads_allowed() if allow_download is None else allow_download
    return DATASETS[name].load(allow)


# --- splits and tensors -------------------------------------------------------------------------


def fitting_sizes(smallest_class: int) -> dict[str, int]:
    """Training and validation images per class for a dataset whose smallest class has this many: the
    lab's defaults where they fit, else a quarter (at most the default) to validate and the rest to train."""
    train, val = TrainConfig.train_per_class, TrainConfig.val_per_class  # the dataclass's defaults
    if smallest_class < train + val:
        val = min(max(1, smallest_class // 4), val)
        train = max(1, min(smallest_class - val, train))
    return {"train_per_class": train, "val_per_class": val}


def split_indices(
    labels: np.ndarray, train_per_class: int, val_per_class: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per class, a seeded shuffle: the first images train, the next ones validate. Never overlapping."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for label in np.unique(labels[labels >= 0]):  # -1: a class left out of the task
        members = np.flatnonzero(labels == label)
        if len(members) < train_per_class + val_per_class:
            raise ConfigError(
                "train_per_class",
                f"class {label} has only {len(members)} images, fewer than the {train_per_class} training + "
                f"{val_per_class} validation images per class asked for; ask for {len(members)} or fewer together.",
            )
        members = rng.permutation(members)
        train.append(members[:train_per_class])
        val.append(members[train_per_class : train_per_class + val_per_class])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(val))


def to_image_tensor(images: np.ndarray | list[np.ndarray], size: int, chunk: int = 512) -> torch.Tensor:
    """uint8 (N, 3, size, size): grey repeated to three channels, resized with antialiasing."""
    if isinstance(images, list):
        return torch.cat([to_image_tensor(image[None], size) for image in images]) if images else _empty(size)
    out = []
    for start in range(0, len(images), chunk):
        batch = torch.from_numpy(np.ascontiguousarray(images[start : start + chunk]))
        batch = batch.unsqueeze(1).expand(-1, 3, -1, -1) if batch.ndim == 3 else batch.permute(0, 3, 1, 2)
        if batch.shape[-2:] != (size, size):
            batch = F.interpolate(batch.float(), size=(size, size), mode="bilinear", antialias=True)
            batch = batch.round().clamp(0, 255).to(torch.uint8)
        out.append(batch.contiguous())
    return torch.cat(out) if out else _empty(size)


def _empty(size: int) -> torch.Tensor:
    return torch.empty((0, 3, size, size), dtype=torch.uint8)


def normalize(batch: torch.Tensor, prep: Preprocessing) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float, scaled to [0, 1] and normalised the way the weights expect. Word
    tokens (int64) pass through: a word encoder reads them as they are."""
    if batch.dtype == torch.int64:
        return batch
    mean = torch.tensor(prep.mean, device=batch.device).view(1, 3, 1, 1)
    std = torch.tensor(prep.std, device=batch.device).view(1, 3, 1, 1)
    return (batch.float() / 255 - mean) / std


SHIFT_DESCRIPTIONS = {
    "none": "no shifted copy",
    "contrast": "contrast cut to a third: faded, washed-out images",
    "blur": "Gaussian blur (5 px kernel, sigma 1.5): out-of-focus images",
    "rotation": "rotated by 35 degrees: objects at an angle never seen in training",
    "noise": "Gaussian pixel noise (sigma 40 of 255): grainy images",
}


def shift_images(images: torch.Tensor, kind: str, seed: int = 0) -> torch.Tensor:
    """The validation images changed in one way the training images never are: a distribution shift.
    uint8 (N, 3, H, W) in and out; deterministic for a seed."""
    if kind == "none":
        return images
    if kind == "contrast":
        return TF.adjust_contrast(images, 1 / 3)
    if kind == "blur":
        return TF.gaussian_blur(images, kernel_size=5, sigma=1.5)
    if kind == "rotation":
        return TF.rotate(images, 35.0)
    if kind == "noise":
        noise = torch.randn(images.shape, generator=torch.Generator().manual_seed(seed)) * 40
        return (images.float() + noise).round().clamp(0, 255).to(torch.uint8)
    raise ConfigError("val_shift", f"unknown shift {kind!r}; choose one of {', '.join(SHIFT_DESCRIPTIONS)}.")


def augmenter(size: int) -> T.Compose:
    """Mild augmentation that suits small photos and clothes: crop-and-resize and a horizontal flip."""
    return T.Compose([T.RandomResizedCrop(size, scale=(0.7, 1.0), antialias=True), T.RandomHorizontalFlip()])


def augment_batch(batch: torch.Tensor, transform: T.Compose) -> torch.Tensor:
    # torchvision draws one set of random parameters per call, so each image gets its own call.
    return torch.stack([transform(image) for image in batch])


def _take(images: np.ndarray | list[np.ndarray], idx: np.ndarray):
    return [images[i] for i in idx] if isinstance(images, list) else images[idx]


@dataclass(frozen=True)
class PreparedData:
    train_x: torch.Tensor  # uint8 (N, 3, S, S)
    train_y: torch.Tensor  # int64 (N,)
    val_x: torch.Tensor
    val_y: torch.Tensor
    classes: list[str]


def prepare_data(
    raw: RawDataset,
    train_per_class: int,
    val_per_class: int,
    image_size: int,
    seed: int,
    class_subset: tuple[int, ...] = (),
) -> PreparedData:
    """The run's images, split per class from the seed. With `class_subset`, only those classes,
    relabelled 0..k-1 in the order given (a task made of half a dataset's classes, say)."""
    labels = raw.labels
    classes = raw.classes
    if class_subset:
        check_class_subset(class_subset, len(raw.classes))
        relabel = np.full(len(raw.classes), -1)
        relabel[list(class_subset)] = np.arange(len(class_subset))
        labels = relabel[raw.labels]
        classes = [raw.classes[i] for i in class_subset]
    train_idx, val_idx = split_indices(labels, train_per_class, val_per_class, seed)
    if raw.kind == "words":  # tokens, as they are: no size, no channels
        tokens = torch.from_numpy(raw.images)
        y = torch.from_numpy(labels)
        return PreparedData(tokens[train_idx], y[train_idx], tokens[val_idx], y[val_idx], classes)
    return PreparedData(
        train_x=to_image_tensor(_take(raw.images, train_idx), image_size),
        train_y=torch.from_numpy(labels[train_idx]),
        val_x=to_image_tensor(_take(raw.images, val_idx), image_size),
        val_y=torch.from_numpy(labels[val_idx]),
        classes=classes,
    )


def check_class_subset(subset: tuple[int, ...], num_classes: int) -> None:
    if len(set(subset)) != len(subset) or len(subset) < 2 or not all(0 <= i < num_classes for i in subset):
        raise ConfigError(
            "class_subset", f"needs two or more different class numbers between 0 and {num_classes - 1}, got {subset}."
        )
