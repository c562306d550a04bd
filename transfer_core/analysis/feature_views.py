"""What the Features page shows for one finished run, computed from the run store.

Each function returns plain arrays or frames; the page caches them per run, so every
view is computed once. bench/features.py times them.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from transfer_core.analysis.representations import (
    cam_stage,
    first_layer_filters,
    grad_cam,
    project_2d,
    project_epochs_2d,
    stage_outputs,
    stagewise_cka,
    strongest_channels,
)
from transfer_core.analysis.validation import load_trained_model
from transfer_core.config import MINE_PREFIX, TrainConfig
from transfer_core.data.preparation import PreparedData, normalize, to_image_tensor
from transfer_core.models.backbones import build_backbone, get_spec
from transfer_core.models.imagenet import imagenet_categories
from transfer_core.models.own_sources import source_head
from transfer_core.models.strategies import TransferModel
from transfer_core.resolve import model_for, verified_data
from transfer_core.store.runs import RunStore

CKA_IMAGES = 256


@dataclass(frozen=True)
class RunModels:
    """A finished run's models before and after training, and the data they were trained on."""

    config: TrainConfig
    classes: list[str]
    initial: TransferModel
    final: TransferModel
    data: PreparedData

    def normalised(self, images_uint8: torch.Tensor) -> torch.Tensor:
        return normalize(images_uint8, get_spec(self.config.backbone).preprocessing)

    @property
    def started_from(self) -> str:
        """Where the starting network's weights came from: "imagenet", "mine" (the learner's) or "random"."""
        if not self.config.starts_pretrained:
            return "random"
        return "mine" if self.config.weights.startswith(MINE_PREFIX) else "imagenet"

    @property
    def started_pretrained(self) -> bool:
        return self.started_from == "imagenet" and get_spec(self.config.backbone).has_pretrained

    @property
    def hears(self) -> bool:
        """The network reads waveforms (its pictures are the clips' spectrograms)."""
        return get_spec(self.config.backbone).reads == "sound"


def load_run_models(store: RunStore, run_id: str) -> RunModels:
    """The run's starting and trained networks and its data; DataChanged if the data is no longer what it saw."""
    record = store.load(run_id)
    config = record.config
    data = verified_data(record)
    initial = model_for(config, len(record.classes), record.owner, store).eval()
    final = load_trained_model(config, len(record.classes), store.load_weights(run_id))
    return RunModels(config, record.classes, initial, final, data)


# --- embedding map ------------------------------------------------------------------------------


def embedding_frame(store: RunStore, run_id: str, models: RunModels, method: str = "pca") -> pd.DataFrame:
    """Before and after training, side by side: x, y, class, model. Uses the features recorded in training."""
    records = store.records(run_id)
    (_, sample, before), (_, _, after) = records[0], records[-1]
    classes, labels = models.classes, models.data.val_y.numpy()[sample]
    frames = []
    for label, embedding in (("before training", before), ("after training", after)):
        xy = project_2d(embedding, method)
        frames.append(
            pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "class": [classes[i] for i in labels], "model": label})
        )
    return pd.concat(frames, ignore_index=True)


def embedding_animation_frame(store: RunStore, run_id: str, models: RunModels) -> pd.DataFrame:
    """Every recorded epoch projected with one shared PCA: epoch, x, y, class."""
    records = store.records(run_id)
    classes, labels = models.classes, models.data.val_y.numpy()[records[0][1]]
    projected = project_epochs_2d([embedding for _, _, embedding in records])
    return pd.concat(
        [
            pd.DataFrame({"epoch": epoch, "x": xy[:, 0], "y": xy[:, 1], "class": [classes[i] for i in labels]})
            for (epoch, _, _), xy in zip(records, projected)
        ],
        ignore_index=True,
    )


# --- activations and filters ---------------------------------------------------------------------


def activation_maps(models: RunModels, image: np.ndarray, k: int = 8) -> dict[str, dict[str, np.ndarray]]:
    """For one image (H, W, 3) uint8: per model ("before", "after"), per stage, the k strongest channels."""
    x = models.normalised(torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).unsqueeze(0))
    maps = {}
    for which, model in (("before", models.initial), ("after", models.final)):
        outputs = stage_outputs(model, x)
        maps[which] = {name: strongest_channels(out[0], k)[1] for name, out in outputs.items()}
    return maps


def image_at_run_size(models: RunModels, pixels: np.ndarray) -> np.ndarray:
    """Any RGB or grey image as the run saw its data: uint8 (S, S, 3) at the run's image size."""
    return to_image_tensor([pixels], models.config.image_size)[0].permute(1, 2, 0).numpy()


def validation_image(models: RunModels, index: int) -> np.ndarray:
    return models.data.val_x[index].permute(1, 2, 0).numpy()


def filters_before_after(models: RunModels) -> tuple[np.ndarray, np.ndarray]:
    return first_layer_filters(models.initial), first_layer_filters(models.final)


# --- Grad-CAM -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CamView:
    images: np.ndarray  # uint8 (B, H, W, 3)
    true: list[str]
    predicted: list[str]  # by the trained model
    cam_after: np.ndarray  # (B, H, W) for the trained model's predicted class
    before_predicted: list[str]  # by the starting network (ImageNet classes when pretrained)
    cam_before: np.ndarray
    stage: str


def cam_view(models: RunModels, val_indices: list[int]) -> CamView:
    if models.hears:
        return sound_cam_view(models, val_indices)
    images = models.data.val_x[val_indices]
    x = models.normalised(images)
    stage = cam_stage(models.final, models.config.image_size)
    with torch.no_grad():
        predicted = models.final(x).argmax(1)
    cam_after = grad_cam(models.final, x, predicted, stage)
    if models.started_pretrained and get_spec(models.config.backbone).reads == "images":
        # the source network's own view: its ImageNet head and top class
        source = build_backbone(models.config.backbone, pretrained=True).eval()
        names = imagenet_categories()
    else:
        source, names = models.initial, models.classes
    with torch.no_grad():
        before = source(x).argmax(1)
    cam_before = grad_cam(source, x, before, stage)
    return CamView(
        images=images.permute(0, 2, 3, 1).numpy(),
        true=[models.classes[i] for i in models.data.val_y[val_indices]],
        predicted=[models.classes[i] for i in predicted],
        cam_after=cam_after,
        before_predicted=[names[i] for i in before],
        cam_before=cam_before,
        stage=stage,
    )


def sound_cam_view(models: RunModels, val_indices: list[int]) -> CamView:
    """Grad-CAM of a network that hears, drawn over each clip's spectrogram: which moments (and, for the
    speech CNN, which pitch bands) decided. CREPE's maps have no frequency axis (its kernels run along
    64 ms of raw audio), so they are drawn as moments only. "Before" is the starting network with the
    run's new head, as it was before training."""
    from transfer_core.sound.spectrogram import FRAMES, N_MELS, spectrogram_images

    x = models.normalised(models.data.val_x[val_indices])
    stage = cam_stage(models.final, 0, example=x[:1])
    source, source_classes = sound_source(models)
    maps = {}
    for which, model, names in (("before", source, source_classes), ("after", models.final, models.classes)):
        with torch.no_grad():
            predicted = model(x).argmax(1)
        cam = grad_cam(model, x, predicted, stage, size=(N_MELS, FRAMES))
        if models.config.backbone == "crepe_tiny":
            cam = np.repeat(cam.max(axis=1, keepdims=True), N_MELS, axis=1)  # moments only
        else:
            cam = cam[:, ::-1]  # the spectrogram pictures have their lowest band at the bottom
        maps[which] = (np.ascontiguousarray(cam), [names[i] for i in predicted])
    pictures = spectrogram_images(models.data.val_clips[val_indices])
    return CamView(
        images=pictures.unsqueeze(-1).expand(-1, -1, -1, 3).numpy(),
        true=[models.classes[i] for i in models.data.val_y[val_indices]],
        predicted=maps["after"][1],
        cam_after=maps["after"][0],
        before_predicted=maps["before"][1],
        cam_before=maps["before"][0],
        stage=stage,
    )


def sound_source(models: RunModels) -> tuple[TransferModel, list[str]]:
    """The network a sound run started from, with the head that gives its answers their meaning: the
    speech CNN's own source head (its ten command words) when it started from its source; otherwise the
    run's starting model, whose new head had not trained yet."""
    if models.config.backbone != "speech_cnn" or models.started_from != "imagenet":
        return models.initial, models.classes
    head, classes = source_head("speech_cnn")
    model = TransferModel(build_backbone("speech_cnn", pretrained=True), len(classes), frozen=0)
    model.head.load_state_dict(head)
    return model.eval(), classes


# --- weight drift and similarity -----------------------------------------------------------------


def drift_frame(rows: list[dict]) -> pd.DataFrame:
    """Drift rows ({"epoch": n, stage: change, ...}) in long format: epoch, stage, drift."""
    if not rows:
        return pd.DataFrame(columns=["epoch", "stage", "drift"])
    return pd.DataFrame(rows).melt(id_vars="epoch", var_name="stage", value_name="drift")


def cka_frame(models: RunModels) -> pd.DataFrame:
    """Per stage: linear CKA between the starting and the trained network on the same validation images."""
    x = models.normalised(models.data.val_x[:CKA_IMAGES])
    cka = stagewise_cka(models.initial, models.final, x)
    return pd.DataFrame({"stage": list(cka), "cka": list(cka.values())})


def representation_change(models: RunModels) -> dict[str, float]:
    """Per stage, how far training moved its representation: 1 - linear CKA between the starting and the
    trained network on the same validation images (0: the same up to rotation and scale)."""
    x = models.normalised(models.data.val_x[:CKA_IMAGES])
    return {stage: 1.0 - cka for stage, cka in stagewise_cka(models.initial, models.final, x).items()}


def stage_pictures(backbone: str, image: np.ndarray, size: int = 128, k: int = 4) -> dict[str, np.ndarray]:
    """What each stage of the pretrained backbone makes of one photo (H, W, 3): per stage, the k
    strongest channels (k, h, w) in [0, 1]."""
    model = build_backbone(backbone, pretrained=True).eval()
    x = normalize(to_image_tensor([image], size), get_spec(backbone).preprocessing)
    return {name: each_scaled(strongest_channels(out[0], k)[1]) for name, out in stage_outputs(model, x).items()}


def each_scaled(maps: np.ndarray) -> np.ndarray:
    """Every map (k, h, w) stretched to [0, 1] on its own: a lesson shows each channel's pattern, where
    scaling them together leaves weaker channels blank."""
    low = maps.min(axis=(1, 2), keepdims=True)
    high = maps.max(axis=(1, 2), keepdims=True)
    return (maps - low) / np.maximum(high - low, 1e-8)
