"""Datasets: the registry of sources (Fashion-MNIST, CIFAR-10, digits, word lists, spoken words,
folders of class folders), whether each is here, and their loaders. preparation.py makes one ready for a run.

Images stay uint8 in memory until a batch is drawn, four times smaller than floats.
"""

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from transfer_core import settings
from transfer_core.config import CSV_PREFIX, FOLDER_PREFIX, MINE_PREFIX
from transfer_core.errors import ConfigError, DatasetUnavailable
from transfer_core.messages import join_said, say
from transfer_core.models.weights import downloads_allowed
from transfer_core.sound import speech
from transfer_core.sound.clips import WAV_SUFFIXES, read_clip_file
from transfer_core.text import definitions, minilm
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
    kind: str = "images"  # or "words": `images` then holds int64 (N, MAX_LETTERS) tokens (see word_lists.py),
    # or "text": int64 (N, minilm.TOKENS) WordPiece tokens of sentences (see text/),
    # or "sound": int16 (N, CLIP_SAMPLES) one-second clips at 16 kHz (see sound/clips.py)
    texts: tuple[str, ...] | None = None  # "text": the sentences as written (the tokens are lower-cased and cut)


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
        return True, say(
            "data.fashion_debian", "Debian package dataset-fashion-mnist ({folder})", folder=str(DEBIAN_FASHION_MNIST)
        )
    if (settings.current().data_dir / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").exists():
        return True, DOWNLOADED_EARLIER
    return False, _fashion_advice()


DOWNLOADED_EARLIER = say("data.downloaded_earlier", "downloaded earlier into the lab's data folder")


def _fashion_advice() -> str:
    sentence = (
        "Fashion-MNIST is not on this machine. Install Debian's package "
        "(`sudo apt install dataset-fashion-mnist`) or connect to the internet once so torchvision "
        "can download it into the lab's data folder; scikit-learn digits works offline meanwhile."
    )
    return say("data.fashion_missing", sentence)


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
        return True, DOWNLOADED_EARLIER
    return False, _cifar_advice()


def _cifar_advice() -> str:
    sentence = (
        "CIFAR-10 is not downloaded yet. Connect to the internet once and it downloads "
        "(170 MB) into the lab's data folder; offline, use Fashion-MNIST or digits."
    )
    return say("data.cifar_missing", sentence)


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
        raise DatasetUnavailable(
            say("data.download_failed", "{advice} (The download failed: {error}.)", advice=advice, error=str(err))
        ) from err


# --- scikit-learn digits (always offline) --------------------------------------------------------


def _load_digits(allow_download: bool) -> RawDataset:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.round(digits.images * (255 / 16)).astype(np.uint8)  # values are 0..16
    return RawDataset(images, digits.target.astype(np.int64), [str(d) for d in range(10)])


# --- any folder of class sub-folders -----------------------------------------------------------


def load_folder(root: Path) -> RawDataset:
    """Class folders of images, or of WAV files (then a sound dataset)."""
    if not root.is_dir():
        raise DatasetUnavailable(
            say(
                "data.not_folder",
                "{folder} is not a folder; give a folder with one sub-folder of images per class.",
                folder=str(root),
            )
        )
    classes = folder_classes(root)
    sound = folder_reads(root) == "sound"
    suffixes, read = (WAV_SUFFIXES, _read_clip) if sound else (IMAGE_SUFFIXES, _read_image)
    items, labels = [], []
    for label, name in enumerate(classes):
        for file in sorted((root / name).iterdir()):
            if file.suffix.lower() in suffixes:
                items.append(read(file))
                labels.append(label)
    if len(classes) < 2 or not items:
        raise DatasetUnavailable(
            say(
                "data.two_folders",
                "{folder} needs at least two sub-folders of images or WAV files, one per class.",
                folder=str(root),
            )
        )
    if sound:
        return RawDataset(np.stack(items), np.asarray(labels, dtype=np.int64), classes, kind="sound")
    return RawDataset(items, np.asarray(labels, dtype=np.int64), classes)


def folder_reads(root: Path) -> str:
    """ "sound" for class folders of WAV files, else "images", from the file names alone."""
    for name in folder_classes(root):
        if any(f.suffix.lower() in WAV_SUFFIXES for f in (root / name).iterdir()):
            return "sound"
    return "images"


def folder_classes(root: Path) -> list[str]:
    """A class folder's class names, its visible sub-folders in order, without reading an image."""
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _read_image(file: Path) -> np.ndarray:
    try:
        with Image.open(file) as image:
            return np.array(image.convert("RGB"))
    except (UnidentifiedImageError, OSError) as err:
        raise DatasetUnavailable(
            say(
                "data.bad_image",
                "{file} is not a readable image ({error}); remove it or replace it.",
                file=str(file),
                error=str(err),
            )
        ) from err


def _read_clip(file: Path) -> np.ndarray:
    try:
        return read_clip_file(file)
    except ValueError as err:
        raise DatasetUnavailable(
            say(
                "data.bad_wav",
                "{file} is not a readable WAV file ({error}); remove it or replace it.",
                file=str(file),
                error=str(err),
            )
        ) from err


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
    if problems:
        return False, say("data.missing_lists", "{problems}.", problems=join_said(problems))
    return True, say("data.word_lists", "Debian word lists in /usr/share/dict")


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


# --- sentences: WordNet's definitions by kind of thing (see text/definitions.py) ------------------------


def _definitions_available() -> tuple[bool, str]:
    if not definitions.available():
        sentence = (
            "WordNet's definitions are not on this machine: install Debian's package {package} "
            "(`apt install {package}`)."
        )
        return False, say("data.wordnet_missing", sentence, package=definitions.PACKAGE)
    tokens_ok, why = minilm.weights_present()  # the definitions are read with MiniLM's own tokenizer
    if not tokens_ok:
        return False, why
    return True, say("data.wordnet", "Debian package {package} ({path})", package=definitions.PACKAGE,
                     path=str(definitions.WORDNET))  # fmt: skip


def _load_definitions(_allow_download: bool) -> RawDataset:
    ok, why = _definitions_available()
    if not ok:
        raise DatasetUnavailable(why)
    texts, labels, kinds = definitions.texts_and_labels()
    return RawDataset(minilm.tokenize(texts).numpy(), labels, kinds, kind="text", texts=tuple(texts))


# --- spoken words (synthesised by espeak-ng, see sound/speech.py) -----------------------------------


def _speech_dataset(spec: speech.SpeechSet) -> DatasetInfo:
    def load(_allow_download: bool) -> RawDataset:
        ok, why = speech.espeak_available()
        if not ok:
            raise DatasetUnavailable(say("data.missing_lists", "{problems}.", problems=why))
        clips, labels = speech.load_speech(spec.name)
        return RawDataset(clips, labels, list(spec.words), kind="sound")

    source = "synthesised offline by Debian's espeak-ng, cached in the data folder"
    return DatasetInfo(spec.name, spec.title, source, load, speech.espeak_available, len(spec.words),
                       spec.clips_per_word)  # fmt: skip


# --- registry -----------------------------------------------------------------------------------

BUNDLED = say("data.bundled", "bundled with scikit-learn")

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
        "digits", "scikit-learn digits", "ships inside scikit-learn", _load_digits, lambda: (True, BUNDLED), 10, 174
    ),
    "cifar10": DatasetInfo("cifar10", "CIFAR-10", "torchvision download", _load_cifar, _cifar_available, 10, 5000),
    "words_source": _word_dataset("words_source", "Words: 6 source languages"),
    "words_near": _word_dataset("words_near", "Words: 4 languages near the source's"),
    "words_far": _word_dataset("words_far", "Words: Polish beside 2 near languages"),
    "words_all": _word_dataset("words_all", "Words: all 11 languages"),
    **{name: _speech_dataset(spec) for name, spec in speech.SPEECH_SETS.items()},
    "definitions": DatasetInfo(
        "definitions",
        "Sentences: WordNet definitions, 8 kinds of thing",
        f"Debian {definitions.PACKAGE}",
        _load_definitions,
        _definitions_available,
        len(definitions.KINDS),
        definitions.SMALLEST_KIND,
    ),  # fmt: skip
}


def reads(dataset: str) -> str:
    """What a registry dataset holds: "words", "sound" or "images" (a session's own data, and a folder,
    are asked of their files: see resolve.dataset_reads)."""
    if dataset in WORD_SETS:
        return "words"
    if dataset == "definitions" or dataset.startswith(CSV_PREFIX):
        return "text"
    return "sound" if dataset in speech.SPEECH_SETS else "images"


def check_dataset_name(name: str) -> None:
    """A registry name, folder:PATH or mine:NAME (whose owner resolve checks)."""
    prefixes = (FOLDER_PREFIX, MINE_PREFIX, CSV_PREFIX)
    if name in DATASETS or any(name.startswith(p) and len(name) > len(p) for p in prefixes):
        return
    sentence = "unknown dataset {name}; choose one of {names}, folder:PATH, csv:PATH or mine:NAME."
    raise ConfigError("dataset", say("data.unknown", sentence, name=repr(name), names=", ".join(DATASETS)))


def dataset_available(name: str) -> tuple[bool, str]:
    """Whether a registry dataset or a folder loads without the network right now, and why (never downloads)."""
    if name.startswith(FOLDER_PREFIX):
        folder = Path(name.removeprefix(FOLDER_PREFIX))
        return folder.is_dir(), str(folder) if folder.is_dir() else f"{folder} is not a folder"
    check_dataset_name(name)
    return DATASETS[name].available()


ON_COMMAND_LINE = say("csv.command_line", "csv:PATH reads a file on the server, which only the command line "
                      "may; upload the CSV on the My data page.")  # fmt: skip


def load_shared(name: str, allow_download: bool | None = None) -> RawDataset:
    """A registry dataset or a folder, whole, in memory; DatasetUnavailable says how to get it."""
    check_dataset_name(name)
    if name.startswith(MINE_PREFIX):
        raise DatasetUnavailable(
            say("user.other_session", "{name} belongs to a session; open it from the session that made it.", name=name)
        )
    if name.startswith(CSV_PREFIX):
        raise DatasetUnavailable(ON_COMMAND_LINE)
    if name.startswith(FOLDER_PREFIX):  # read afresh: its files may change between runs
        return load_folder(Path(name.removeprefix(FOLDER_PREFIX)))
    return _load_registry(name, allow_download)


@lru_cache(maxsize=4)
def _load_registry(name: str, allow_download: bool | None) -> RawDataset:
    """A registry dataset, kept: its files come from a package or a checked download and do not change."""
    allow = downloads_allowed() if allow_download is None else allow_download
    return DATASETS[name].load(allow)


# --- splits and tensors -------------------------------------------------------------------------
