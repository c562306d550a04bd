"""Folders of class sub-folders on the server, read only under the roots the operator shares.

On a shared server a link must not make the app read whatever folder it can see: another student's
saved dataset, the server's own files, or a tree too large to walk. A `folder:` dataset is read only
under a root listed in TRANSFER_LAB_FOLDER_ROOTS (none by default), with the upload limits (count,
size, pixels, the stored side), and a refusal never says whether a path outside those roots exists.
The command line, where the operator names the folder themselves, reads any folder.
"""

from pathlib import Path

from transfer_core import settings
from transfer_core.data.registry import RawDataset, folder_reads
from transfer_core.data.uploads import IMAGES, UploadRejected, import_files
from transfer_core.errors import DatasetUnavailable
from transfer_core.messages import message_of, say
from transfer_core.settings import UploadLimits
from transfer_core.sound.upload import CLIPS


def check_shared(folder: str) -> Path:
    """The folder, resolved, if it lies under a shared root; DatasetUnavailable otherwise."""
    path = Path(folder).resolve()  # `..` and links lead where they lead, and that is what is checked
    where = settings.current()
    roots = where.folder_roots
    if not roots:
        sentence = (
            "this server reads no folders of its own for students (TRANSFER_LAB_FOLDER_ROOTS is not set); "
            "upload a zip of class folders on the My data page instead."
        )
        raise DatasetUnavailable(say("shared.none", sentence))
    private = [
        where.data_dir.resolve() / "users",
        where.runs_dir.resolve(),
        where.features_dir.resolve(),
    ]
    inside = [root for root in roots if path == root or path.is_relative_to(root)]
    # Students' saved datasets, runs and features stay private even under a shared root that holds them.
    if not inside or any(path == folder or path.is_relative_to(folder) for folder in private):
        sentence = (
            "{folder} is not under a folder this server shares: choose one under {roots}, or upload a "
            "zip on the My data page."
        )
        raise DatasetUnavailable(
            say("shared.outside", sentence, folder=repr(folder), roots=", ".join(str(root) for root in roots))
        )
    return path


def _refuse_links_out(path: Path, root: Path, folder: str) -> None:
    if not path.resolve().is_relative_to(root):
        sentence = (
            "{folder}: {link} links outside the shared folder, which this server does not follow; replace the link "
            "with the images themselves."
        )
        raise DatasetUnavailable(say("shared.link", sentence, folder=repr(folder), link=str(path.relative_to(root))))


def read_shared_folder(folder: str, limits: UploadLimits | None = None) -> RawDataset:
    """A shared folder of class sub-folders, read with the upload limits. Every class folder and file must
    stay under the folder once links are followed: a link out (to another student's data, to the server's
    files) is refused by name. The images' total size is bounded while they are read."""
    root = check_shared(folder)
    if not root.is_dir():
        raise DatasetUnavailable(
            say(
                "shared.not_folder",
                "{folder} is not a folder; give one with a sub-folder of images per class.",
                folder=repr(folder),
            )
        )
    limits = limits or settings.current().uploads
    reader = CLIPS if folder_reads(root) == "sound" else IMAGES  # class folders of WAV files, or of images
    files, count, size = {}, 0, 0
    for class_folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        _refuse_links_out(class_folder, root, folder)
        files[class_folder.name] = []
        for file in sorted(class_folder.iterdir()):
            if file.suffix.lower() not in reader.suffixes or not file.is_file():
                continue
            _refuse_links_out(file, root, folder)
            count += 1
            if count > limits.members:
                raise DatasetUnavailable(
                    say(
                        "shared.too_many",
                        "{folder} holds more than {limit} images; share a smaller one.",
                        folder=repr(folder),
                        limit=limits.members,
                    )
                )
            with open(file, "rb") as image:  # one byte past the limit is enough to refuse it: read no more
                data = image.read(limits.upload_bytes + 1)
            size += len(data)
            if size > limits.unpacked_bytes:
                sentence = "{folder} holds more than {limit} MB of images; share a smaller one."
                raise DatasetUnavailable(say("shared.too_big", sentence, folder=repr(folder), limit=limits.unpacked_mb))
            files[class_folder.name].append((file.name, data))
    try:
        return import_files(files, limits, reader).dataset
    except UploadRejected as err:
        raise DatasetUnavailable(
            say("shared.rejected", "{folder}: {problem}", folder=repr(folder), problem=message_of(err))
        ) from err
