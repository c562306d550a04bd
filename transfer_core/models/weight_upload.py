"""Weights a user brings for a registry backbone, read without running any code and checked by name.

`.safetensors` holds only tensors. A `.pth` is a pickle, which can run code when loaded, so it is
read only by `torch.load(weights_only=True)`: tensors and plain containers pass, anything that
would import or call something is refused.

A `.pth` is also a zip whose members may be compressed: 1 MB can unpack to a gigabyte tensor. Its
directory is checked first, with the dataset zips' limits (entries, unpacked total, compression
ratio). Every tensor lives in a storage that is one of those members, and PyTorch refuses a tensor
larger than its storage, so bounding the members bounds every tensor before a byte is read.
PyTorch's format from before 1.6 (not a zip) declares storage sizes it allocates before reading;
it is refused with advice to save again.
"""

import io
import pickle
import zipfile
from dataclasses import dataclass

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors

from transfer_core.data.uploads import ratio_problem
from transfer_core.errors import TransferLabError
from transfer_core.messages import join_said, say
from transfer_core.models.backbones import get_spec
from transfer_core.settings import UploadLimits

SUFFIXES = (".safetensors", ".pth", ".pt")
WRAPPER_KEYS = ("state_dict", "model", "model_state_dict")  # common checkpoint layouts around a state dict
MODULE_PREFIX = "module."  # what DataParallel puts before every key
LISTED = 8  # names shown per kind of mismatch


class WeightsRefused(TransferLabError):
    """The file cannot be used as weights for the chosen backbone; the message says why."""


@dataclass(frozen=True)
class CheckedWeights:
    state: dict[str, torch.Tensor]  # every tensor of the backbone's stages, and of its classifier if it fits
    ignored: list[str]  # keys in the file left unused (another task's classifier head, say)


def read_weights_file(data: bytes, filename: str, limits: UploadLimits) -> dict[str, torch.Tensor]:
    """The tensors in an uploaded file, by name. Never unpickles anything but tensors."""
    if len(data) > limits.upload_bytes:
        raise WeightsRefused(
            say(
                "weights.too_big",
                "{file} is {size:.0f} MB; the limit is {limit} MB.",
                file=filename,
                size=len(data) / 1e6,
                limit=limits.upload_mb,
            )
        )
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix == ".safetensors":
        try:
            return load_safetensors(data)
        except (SafetensorError, ValueError, RuntimeError) as err:
            raise WeightsRefused(
                say(
                    "weights.bad_safetensors",
                    "{file} is not a readable safetensors file ({error}).",
                    file=filename,
                    error=str(err),
                )
            ) from err
    if suffix in (".pth", ".pt"):
        return _read_pickled(data, filename, limits)
    raise WeightsRefused(
        say("weights.suffix", "{file}: send a .safetensors file (preferred) or a .pth/.pt state dict.", file=filename)
    )


def check_torch_archive(data: bytes, filename: str, limits: UploadLimits) -> None:
    """WeightsRefused unless `data` is a PyTorch zip within the upload limits, judged by its directory."""
    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, ValueError) as err:
        sentence = (
            "{file} is not in PyTorch's zip format (it may be from before PyTorch 1.6, or damaged). "
            "Save it again with `torch.save(model.state_dict(), path)`, or better, as safetensors."
        )
        raise WeightsRefused(say("weights.not_zip", sentence, file=filename)) from err
    if len(members) > limits.members:
        raise WeightsRefused(
            say(
                "weights.entries",
                "{file} holds {entries} entries; the limit is {limit}.",
                file=filename,
                entries=len(members),
                limit=limits.members,
            )
        )
    unpacked = sum(info.file_size for info in members)
    if unpacked > limits.unpacked_bytes:
        sentence = (
            "{file} unpacks to {size:.0f} MB; the limit is {limit} MB. Send the weights of one model, as "
            "safetensors if you can."
        )
        raise WeightsRefused(
            say("weights.unpacked", sentence, file=filename, size=unpacked / 1e6, limit=limits.unpacked_mb)
        )
    for info in members:
        if (too_compressed := ratio_problem(info, limits)) is not None:
            sentence = (
                "{file} was refused: its entry {entry} is {problem}. "
                "Weights saved by torch.save are not compressed; save them again, or as safetensors."
            )
            raise WeightsRefused(
                say("weights.compressed", sentence, file=filename, entry=repr(info.filename), problem=too_compressed)
            )


def _read_pickled(data: bytes, filename: str, limits: UploadLimits) -> dict[str, torch.Tensor]:
    check_torch_archive(data, filename, limits)
    try:
        loaded = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        sentence = (
            "{file} was refused: loading it would run code or build objects other than tensors ({error}). Save only "
            "the state dict (`torch.save(model.state_dict(), path)`), or better, use safetensors."
        )
        raise WeightsRefused(
            say("weights.code", sentence, file=filename, error=str(err).splitlines()[0][:200])
        ) from err
    except (RuntimeError, EOFError, ValueError, OSError) as err:
        raise WeightsRefused(
            say("weights.bad_pth", "{file} is not a readable PyTorch file ({error}).", file=filename, error=str(err))
        ) from err
    for key in WRAPPER_KEYS:
        if isinstance(loaded, dict) and isinstance(loaded.get(key), dict):
            loaded = loaded[key]
    if not isinstance(loaded, dict) or not all(isinstance(v, torch.Tensor) for v in loaded.values()):
        raise WeightsRefused(
            say(
                "weights.no_state_dict",
                "{file} does not hold a state dict (a mapping of names to tensors).",
                file=filename,
            )
        )
    return loaded


def check_weights(state: dict[str, torch.Tensor], backbone: str) -> CheckedWeights:
    """Every tensor of the backbone's stages, present with its shape; WeightsRefused listing each
    missing name and wrong shape otherwise. The classifier is optional, since transfer replaces it:
    a head of another shape (trained for another task), and keys nothing uses, are listed, not refused."""
    if state and all(key.startswith(MODULE_PREFIX) for key in state):
        state = {key.removeprefix(MODULE_PREFIX): value for key, value in state.items()}
    required, optional = backbone_tensors(backbone)
    missing = [key for key in required if key not in state]
    wrong = [
        f"{key}: expected {tuple(shape)}, got {tuple(state[key].shape)}"
        for key, shape in required.items()
        if key in state and tuple(state[key].shape) != tuple(shape)
    ]
    if missing or wrong:
        problems = []
        if wrong:
            problems.append(
                say(
                    "weights.wrong_shape",
                    "{count} with the wrong shape: {which}",
                    count=len(wrong),
                    which="; ".join(wrong[:LISTED]),
                )
            )
        if missing:
            problems.append(
                say(
                    "weights.missing", "{count} missing: {which}", count=len(missing), which=", ".join(missing[:LISTED])
                )
            )
        sentence = (
            "these weights do not fit {backbone} ({expected} tensors expected): {problems}. Choose the "
            "backbone they were trained for."
        )
        raise WeightsRefused(
            say("weights.misfit", sentence, backbone=backbone, expected=len(required), problems=join_said(problems))
        )
    fits = {**required, **optional}
    kept = {key: value for key, value in state.items() if key in fits and tuple(value.shape) == tuple(fits[key])}
    return CheckedWeights(kept, sorted(set(state) - set(kept)))


def backbone_tensors(backbone: str) -> tuple[dict[str, torch.Size], dict[str, torch.Size]]:
    """Name and shape of the source model's tensors: those the stages use, and the rest (its classifier)."""
    spec = get_spec(backbone)
    raw = spec.build_raw()
    in_stages = {tensor.data_ptr() for tensor in spec.to_staged(raw).stages.state_dict().values()}
    tensors = raw.state_dict()
    # BatchNorm's step counter is not a weight, and older checkpoints lack it.
    required = {k: t.shape for k, t in tensors.items() if t.data_ptr() in in_stages and "num_batches" not in k}
    return required, {key: t.shape for key, t in tensors.items() if key not in required}
