"""Datasets brought in by users: a zip of class folders, or files per class, of images (or, with
sound/upload.py's reader, of WAV clips).

Everything is checked in memory. Nothing is ever extracted to disk by the names inside an
archive, so a hostile name (`../../etc/passwd`, `/root/x`, a symlink) can only be refused.
A refusal names the file and the reason; the rest of a partly bad archive is still usable.
"""

import io
import stat
import warnings
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import numpy as np
from PIL import Image, UnidentifiedImageError

from transfer_core.data.registry import IMAGE_SUFFIXES, RawDataset
from transfer_core.errors import TransferLabError
from transfer_core.messages import join_said, message_of, say
from transfer_core.settings import UploadLimits

STORED_SIDE = 224  # images are kept at most this big: the registry backbones' largest input
SYSTEM_FILES = ("__MACOSX/", "Thumbs.db", "desktop.ini")


class UploadRejected(TransferLabError):
    """The whole upload is unusable; the message says why and what to send instead."""


class FileRefused(TransferLabError):
    """One file inside an upload is unusable; the message is the reason."""


@dataclass(frozen=True)
class Refusal:
    name: str
    reason: str


@dataclass(frozen=True)
class Reader:
    """What a class folder holds: the file suffixes taken, how one file is read, and how a class's items
    become a dataset."""

    suffixes: tuple[str, ...]
    read: Callable[[bytes, UploadLimits], np.ndarray]
    unit: str  # "image" or "clip"
    kind: str  # the RawDataset kind


@dataclass
class ImportResult:
    dataset: RawDataset
    counts: dict[str, int]  # images (or words) kept per class
    refused: list[Refusal] = field(default_factory=list)
    unit: str = "image"  # what a class is made of: "image", "clip", "word" or "sentence"

    def summary(self) -> str:
        accepted = count(sum(self.counts.values()), self.unit)
        if not self.refused:
            return say("upload.accepted", "{accepted} in {classes} classes accepted.", accepted=accepted,
                       classes=len(self.counts))  # fmt: skip
        refused = count(len(self.refused), {"word": "line or file", "sentence": "row"}.get(self.unit, "file"))
        return say("upload.accepted_refused", "{accepted} in {classes} classes accepted; {refused} refused.",
                   accepted=accepted, classes=len(self.counts), refused=refused)  # fmt: skip


NOUNS = {  # what an upload is counted in: (one, many)
    "image": (say("noun.image", "image"), say("noun.images", "images")),
    "clip": (say("noun.clip", "clip"), say("noun.clips", "clips")),
    "word": (say("noun.word", "word"), say("noun.words", "words")),
    "sentence": (say("noun.sentence", "sentence"), say("noun.sentences", "sentences")),
    "row": (say("noun.row", "row"), say("noun.rows", "rows")),
    "file": (say("noun.file", "file"), say("noun.files", "files")),
    "line or file": (say("noun.line_or_file", "line or file"), say("noun.lines_or_files", "lines or files")),
}


def count(n: int, noun: str) -> str:
    """ "3 images", "1 clip": said so that a page can count in the learner's language."""
    one, many = NOUNS[noun]
    return say("count", "{n} {noun}", n=n, noun=one if n == 1 else many)


def noun(unit: str, many: bool = False) -> str:
    return NOUNS[unit][many]


# --- one image ----------------------------------------------------------------------------------


def read_image(data: bytes, limits: UploadLimits) -> np.ndarray:
    """uint8 (H, W, 3), at most STORED_SIDE on a side; FileRefused if it is not a safe, whole image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size  # read from the header: nothing is decoded yet
                if width * height > limits.pixels:
                    sentence = (
                        "{width} x {height} pixels is more than the limit of {limit:,}; "
                        "shrink the image or raise TRANSFER_LAB_MAX_IMAGE_PIXELS."
                    )
                    raise FileRefused(say("upload.pixels", sentence, width=width, height=height, limit=limits.pixels))
                image.draft("RGB", (STORED_SIDE, STORED_SIDE))  # JPEGs decode straight at a smaller scale
                image = image.convert("RGB")
                image.thumbnail((STORED_SIDE, STORED_SIDE))
                return np.array(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise FileRefused(say("upload.bomb", "a decompression bomb ({error})", error=str(err))) from err
    except UnidentifiedImageError as err:
        raise FileRefused(
            say("upload.not_image", "not an image: its contents are not a format Pillow can read")
        ) from err
    except (OSError, SyntaxError, ValueError) as err:  # truncated or corrupt data
        raise FileRefused(
            say("upload.damaged_image", "a damaged or truncated image ({error})", error=str(err))
        ) from err


IMAGES = Reader(IMAGE_SUFFIXES, read_image, "image", "images")


# --- a zip of class folders ---------------------------------------------------------------------


def import_zip(data: bytes, limits: UploadLimits, reader: Reader = IMAGES) -> ImportResult:
    """A dataset from a zip holding one folder of images (or what `reader` reads) per class, inside one
    top folder or not."""
    if len(data) > limits.upload_bytes:
        raise UploadRejected(
            say(
                "upload.zip_size",
                "the zip is {size:.0f} MB; the limit is {limit} MB.",
                size=len(data) / 1e6,
                limit=limits.upload_mb,
            )
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as err:
        sentence = "this is not a readable zip file ({error}); make one with your system's zip tool."
        raise UploadRejected(say("upload.not_zip", sentence, error=str(err))) from err
    with archive:
        members = archive.infolist()
        check_archive(members, limits)
        skip = 1 if _common_top_folder(members) else 0  # path parts before the class folder
        files, refused = _candidate_members(members, skip, limits, reader)
        items: dict[str, list[np.ndarray]] = {name: [] for name in _empty_class_folders(members, files, skip)}
        for info, class_name in files:
            try:
                items.setdefault(class_name, []).append(reader.read(_read_member(archive, info), limits))
            except FileRefused as err:
                refused.append(Refusal(info.filename, message_of(err)))
    return build_dataset(items, limits, refused, reader)


def zip_holds_sound(data: bytes) -> bool:
    """Whether a zip's class folders hold WAV files rather than images (from its directory alone)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return any(PurePosixPath(name).suffix.lower() == ".wav" for name in archive.namelist())
    except zipfile.BadZipFile:
        return False  # import_zip says why


def check_archive(members: list[zipfile.ZipInfo], limits: UploadLimits) -> None:
    """Archive-wide limits, checked from the directory before anything is decompressed."""
    if len(members) > limits.members:
        sentence = "the zip holds {entries} entries; the limit is {limit}. Split it or use fewer images."
        raise UploadRejected(say("upload.entries", sentence, entries=len(members), limit=limits.members))
    unpacked = sum(info.file_size for info in members)
    if unpacked > limits.unpacked_bytes:
        sentence = (
            "the zip unpacks to {size:.0f} MB; the limit is {limit} MB (a zip bomb looks like this too). "
            "Send smaller images or fewer of them."
        )
        raise UploadRejected(say("upload.unpacked", sentence, size=unpacked / 1e6, limit=limits.unpacked_mb))


def _candidate_members(
    members: list[zipfile.ZipInfo], skip: int, limits: UploadLimits, reader: Reader = IMAGES
) -> tuple[list[tuple[zipfile.ZipInfo, str]], list[Refusal]]:
    """The members that may hold a class's item, with their class; the rest refused with a reason."""
    accepted, refused = [], []
    for info in members:
        if info.is_dir():
            continue
        reason = member_problem(info, limits, reader)
        parts = _parts(info.filename)[skip:]
        if reason is None and len(parts) < 2:
            sentence = "not inside a class folder: put each {unit} in a folder named after its class"
            reason = say("upload.no_class_folder", sentence, unit=noun(reader.unit))
        if reason:
            refused.append(Refusal(info.filename, reason))
        else:
            accepted.append((info, parts[0]))
    return accepted, refused


def member_problem(info: zipfile.ZipInfo, limits: UploadLimits, reader: Reader = IMAGES) -> str | None:
    """Why this member cannot be an item (an image, a clip) of the dataset, or None."""
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return say("upload.absolute", "an absolute path: entries must be relative to the zip's top")
    if ".." in name.split("/"):
        return say("upload.outside", "a path with '..' that points outside the archive")
    if stat.S_ISLNK(info.external_attr >> 16):
        return say("upload.link", "a symbolic link, not a file")
    if any(part in name for part in SYSTEM_FILES) or PurePosixPath(name).name.startswith("."):
        return say("upload.hidden", "a hidden or system file")
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in reader.suffixes:
        sentence = "not {kind} file (extension {suffix}; accepted: {accepted})"
        kind = (
            say("upload.an_image", "an image")
            if reader.unit == "image"
            else say("upload.a_unit", "a {unit}", unit=noun(reader.unit))
        )
        return say("upload.suffix", sentence, kind=kind, suffix=suffix or "—", accepted=", ".join(reader.suffixes))
    if info.file_size > limits.upload_bytes:
        sentence = "{size:.0f} MB uncompressed, more than the {limit} MB limit"
        return say("upload.member_size", sentence, size=info.file_size / 1e6, limit=limits.upload_mb)
    if (too_compressed := ratio_problem(info, limits)) is not None:
        return say("upload.zip_bomb", "{problem} (a zip bomb)", problem=too_compressed)
    return None


def ratio_problem(info: zipfile.ZipInfo, limits: UploadLimits) -> str | None:
    """Whether a zip member unpacks to more than the ratio limit allows, judged from the directory."""
    if info.file_size > max(info.compress_size, 1) * limits.ratio:
        ratio = info.file_size / max(info.compress_size, 1)
        return say(
            "upload.ratio",
            "compressed {ratio:.0f} to 1, beyond the limit of {limit} to 1",
            ratio=ratio,
            limit=limits.ratio,
        )
    return None


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    # zipfile stops at the declared size and checks the CRC, so a member cannot unpack to more than
    # the size already checked against the limits.
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as err:
        raise FileRefused(say("upload.damaged_member", "damaged inside the zip ({error})", error=str(err))) from err


def _parts(name: str) -> list[str]:
    return [part for part in name.replace("\\", "/").split("/") if part]


def _common_top_folder(members: list[zipfile.ZipInfo]) -> bool:
    """Whether every file sits in one shared top folder (a zipped dataset folder) with class folders below."""
    files = [_parts(info.filename) for info in members if not info.is_dir()]
    files = [parts for parts in files if not any(s.rstrip("/") in parts for s in SYSTEM_FILES)]
    return bool(files) and len({parts[0] for parts in files}) == 1 and all(len(parts) >= 3 for parts in files)


def _empty_class_folders(
    members: list[zipfile.ZipInfo], files: list[tuple[zipfile.ZipInfo, str]], skip: int
) -> list[str]:
    """Class folders that appear only as folder entries, so an empty class is reported, not silently lost."""
    with_files = {class_name for _, class_name in files}
    folders = [_parts(info.filename)[skip:] for info in members if info.is_dir()]
    return [p[0] for p in folders if len(p) == 1 and p[0] not in with_files and not p[0].startswith((".", "__"))]


# --- image files per class ----------------------------------------------------------------------


def import_files(
    files: dict[str, Iterable[tuple[str, bytes]]], limits: UploadLimits, reader: Reader = IMAGES
) -> ImportResult:
    """A dataset from image files (or what `reader` reads) grouped by class: {class: [(file name, bytes)]}."""
    items: dict[str, list[np.ndarray]] = {}
    refused: list[Refusal] = []
    for class_name, class_files in files.items():
        items[class_name] = []
        for file_name, data in class_files:
            if len(data) > limits.upload_bytes:
                refused.append(
                    Refusal(
                        file_name, say("upload.file_size", "larger than the {limit} MB limit", limit=limits.upload_mb)
                    )
                )
                continue
            try:
                items[class_name].append(reader.read(data, limits))
            except FileRefused as err:
                refused.append(Refusal(file_name, message_of(err)))
    return build_dataset(items, limits, refused, reader)


# --- classes into a dataset ---------------------------------------------------------------------


def build_dataset(
    items: dict[str, list[np.ndarray]], limits: UploadLimits, refused: list[Refusal], reader: Reader = IMAGES
) -> ImportResult:
    """Keep the classes with enough images (or clips); a dataset needs two of them."""
    kept = {}
    for class_name, class_items in sorted(items.items()):
        problem = class_name_problem(class_name)
        if problem is None and len(class_items) < limits.min_per_class:
            sentence = "only {count}; each class needs at least {least}"
            problem = say(
                "upload.too_few", sentence, count=count(len(class_items), reader.unit), least=limits.min_per_class
            )
        if problem:
            refused.append(
                Refusal(f"{class_name}/", say("upload.class_refused", "class refused: {problem}", problem=problem))
            )
        else:
            kept[class_name] = class_items
    if len(kept) < 2:
        sentence = "a dataset needs at least two classes of {least} or more {units} each, and {kept} remained."
        needs = say(
            "upload.two_classes",
            sentence,
            least=limits.min_per_class,
            units=noun(reader.unit, many=True),
            kept=len(kept),
        )
        reasons = [say("upload.refusal", "{name}: {reason}", name=r.name, reason=r.reason) for r in refused[:5]]
        refusals = say("upload.refused_list", "{needs} Refused: {reasons}", needs=needs, reasons=join_said(reasons))
        raise UploadRejected(refusals if reasons else needs)
    labels = np.concatenate([np.full(len(v), i, dtype=np.int64) for i, v in enumerate(kept.values())])
    flat = [item for v in kept.values() for item in v]
    dataset = RawDataset(np.stack(flat) if reader.kind == "sound" else flat, labels, list(kept), kind=reader.kind)
    return ImportResult(dataset, {k: len(v) for k, v in kept.items()}, refused, unit=reader.unit)


def class_name_problem(name: str) -> str | None:
    """Class names become folder names when a dataset is saved, so they must be plain names."""
    if not name.strip() or name.strip() != name:
        return "the name is empty or starts or ends with a space"
    if name.startswith(".") or any(c in name for c in '/\\:*?"<>|\0') or len(name) > 64:
        return 'use a name of at most 64 characters without / \\ : * ? " < > | or a leading dot'
    return None
