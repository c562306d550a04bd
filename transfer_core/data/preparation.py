"""A dataset made ready for one run: per-class splits, image tensors at the run's size, the backbone's
normalisation, the shifted validation images, and the augmentation of training batches."""

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms.v2 as T
import torchvision.transforms.v2.functional as TF

from transfer_core.config import TrainConfig
from transfer_core.data.registry import RawDataset
from transfer_core.errors import ConfigError
from transfer_core.messages import say
from transfer_core.models.backbones import Preprocessing


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
            sentence = (
                "class {label} has only {count} images, fewer than the {train} training + {val} validation images per "
                "class asked for; ask for {count} or fewer together."
            )
            raise ConfigError("train_per_class", say("prepare.too_few", sentence, label=label, count=len(members),
                                                     train=train_per_class, val=val_per_class))  # fmt: skip
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
    tokens (int64) pass through: a word encoder reads them as they are; int16 clips become waveforms
    in [-1, 1]."""
    if batch.dtype == torch.int64:
        return batch
    if batch.dtype == torch.int16:
        return batch.float() / 32768
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
    raise ConfigError(
        "val_shift",
        say(
            "prepare.shift",
            "unknown shift {kind}; choose one of {kinds}.",
            kind=repr(kind),
            kinds=", ".join(SHIFT_DESCRIPTIONS),
        ),
    )


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
    train_x: torch.Tensor  # uint8 (N, 3, S, S); int64 (N, L) word tokens; int16 (N, S) clips for a network that hears
    train_y: torch.Tensor  # int64 (N,)
    val_x: torch.Tensor
    val_y: torch.Tensor
    classes: list[str]
    val_clips: torch.Tensor | None = None  # sound: the validation clips, int16 (N, S), to play back
    train_texts: tuple[str, ...] | None = None  # sentences: as written (the tokens are lower-cased and cut)
    val_texts: tuple[str, ...] | None = None


def prepare_data(
    raw: RawDataset,
    train_per_class: int,
    val_per_class: int,
    image_size: int,
    seed: int,
    class_subset: tuple[int, ...] = (),
    hears: bool = False,
) -> PreparedData:
    """The run's images, split per class from the seed. With `class_subset`, only those classes,
    relabelled 0..k-1 in the order given (a task made of half a dataset's classes, say). Sound stays
    waveforms for a network that `hears`, and is drawn as spectrogram pictures for one that sees."""
    labels = raw.labels
    classes = raw.classes
    if class_subset:
        check_class_subset(class_subset, len(raw.classes))
        relabel = np.full(len(raw.classes), -1)
        relabel[list(class_subset)] = np.arange(len(class_subset))
        labels = relabel[raw.labels]
        classes = [raw.classes[i] for i in class_subset]
    train_idx, val_idx = split_indices(labels, train_per_class, val_per_class, seed)
    if raw.kind in ("words", "text"):  # tokens, as they are: no size, no channels
        tokens = torch.from_numpy(raw.images)
        y = torch.from_numpy(labels)
        return PreparedData(tokens[train_idx], y[train_idx], tokens[val_idx], y[val_idx], classes,
                            train_texts=_texts(raw, train_idx), val_texts=_texts(raw, val_idx))  # fmt: skip
    if raw.kind == "sound":
        return _prepare_sound(raw.images, labels, train_idx, val_idx, classes, image_size, hears)
    return PreparedData(
        train_x=to_image_tensor(_take(raw.images, train_idx), image_size),
        train_y=torch.from_numpy(labels[train_idx]),
        val_x=to_image_tensor(_take(raw.images, val_idx), image_size),
        val_y=torch.from_numpy(labels[val_idx]),
        classes=classes,
    )


def _texts(raw: RawDataset, idx: np.ndarray) -> tuple[str, ...] | None:
    return None if raw.texts is None else tuple(raw.texts[i] for i in idx)


def _prepare_sound(clips: np.ndarray, labels: np.ndarray, train_idx: np.ndarray, val_idx: np.ndarray,
                   classes: list[str], size: int, hears: bool) -> PreparedData:  # fmt: skip
    train, val = torch.from_numpy(clips[train_idx]), torch.from_numpy(clips[val_idx])
    y = torch.from_numpy(labels)
    return PreparedData(sound_inputs(train, hears, size), y[train_idx], sound_inputs(val, hears, size), y[val_idx],
                        classes, val_clips=val)  # fmt: skip


def sound_inputs(clips: torch.Tensor, hears: bool, size: int) -> torch.Tensor:
    """int16 clips (N, S) as a model reads them: as they are for a network that hears, else as
    spectrogram pictures, uint8 (N, 3, size, size)."""
    if hears:
        return clips
    from transfer_core.sound.spectrogram import spectrogram_images

    return to_image_tensor(spectrogram_images(clips).numpy(), size)


def check_class_subset(subset: tuple[int, ...], num_classes: int) -> None:
    if len(set(subset)) != len(subset) or len(subset) < 2 or not all(0 <= i < num_classes for i in subset):
        sentence = "needs two or more different class numbers between 0 and {last}, got {subset}."
        raise ConfigError("class_subset", say("prepare.subset", sentence, last=num_classes - 1, subset=str(subset)))
