"""Build the target model of a run: from scratch, feature copy, or feature fusion.

Every target model is split into a *prefix* (the frozen stages; their output can
be computed once and cached) and a *suffix* (everything that trains).
"""

import torch
from torch import nn

from transfer_core.config import TrainConfig
from transfer_core.models.backbones import StagedBackbone, build_backbone, small_cnn
from transfer_core.models.sequence_encoders import WordBranch
from transfer_core.models.sound_encoders import SoundBranch
from transfer_core.text.scratch import TextBranch

FUSION_BRANCH_WIDTHS = (16, 32, 64)
FUSION_HIDDEN = 128


class FusionHead(nn.Module):
    """Combines frozen source features with a small trainable target branch's features."""

    def __init__(self, source_dim: int, num_classes: int, mode: str, reads: str = "images"):
        super().__init__()
        self.mode = mode
        branches = {"words": WordBranch, "sound": SoundBranch, "text": TextBranch}
        self.branch = branches.get(reads, lambda: small_cnn(FUSION_BRANCH_WIDTHS))()
        target_dim = self.branch.feature_dim
        if mode == "concat":
            self.classifier = nn.Linear(source_dim + target_dim, num_classes)
            return
        self.source_proj = nn.Linear(source_dim, FUSION_HIDDEN)
        self.target_proj = nn.Linear(target_dim, FUSION_HIDDEN)
        if mode == "gate":
            self.gate = nn.Linear(source_dim + target_dim, FUSION_HIDDEN)
        self.classifier = nn.Linear(FUSION_HIDDEN, num_classes)

    def features(self, source: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The fused vector the classifier reads."""
        target = self.branch.forward_features(x)  # (B, target_dim)
        if self.mode == "concat":
            return torch.cat([source, target], dim=1)
        s, t = self.source_proj(source), self.target_proj(target)  # (B, hidden) each
        if self.mode == "sum":
            return torch.relu(s + t)
        g = torch.sigmoid(self.gate(torch.cat([source, target], dim=1)))  # per-feature mix, (B, hidden)
        return torch.relu(g * s + (1 - g) * t)

    def forward(self, source: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(source, x))


class TransferModel(nn.Module):
    """stages (first `frozen` of them frozen) -> pool -> linear head, or -> fusion head."""

    def __init__(self, backbone: StagedBackbone, num_classes: int, frozen: int, fusion_mode: str | None = None):
        super().__init__()
        self.stages = backbone.stages
        self.pool = backbone.pool
        self.frozen = frozen
        words = backbone.reads == "words"
        fusion = FusionHead(backbone.feature_dim, num_classes, fusion_mode, backbone.reads) if fusion_mode else None
        self.fusion = fusion
        self.head = None if fusion_mode else nn.Linear(backbone.feature_dim, num_classes)
        if self.head is not None and words:
            # A word source's features cluster tightly by language: a random new head maps whole clusters
            # to wrong classes (below chance at the start) and a fine-tune's small learning rate takes
            # epochs to undo that. A zero head starts every class at equal odds.
            nn.init.zeros_(self.head.weight)
            nn.init.zeros_(self.head.bias)
        freeze_stages(self, frozen)
        self.train()  # puts the frozen stages in eval mode from the start

    @property
    def stage_names(self) -> list[str]:
        return list(self.stages.keys())

    @property
    def suffix_needs_input(self) -> bool:
        """The fusion branch reads the image itself, so cached prefix outputs are not enough."""
        return self.fusion is not None

    def prefix(self, x: torch.Tensor) -> torch.Tensor:
        for stage in list(self.stages.values())[: self.frozen]:
            x = stage(x)
        return self.pool(x) if self.frozen == len(self.stages) else x

    def suffix_features(self, h: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        """From the prefix's output to the penultimate features (what the last linear layer reads)."""
        if self.frozen < len(self.stages):
            for stage in list(self.stages.values())[self.frozen :]:
                h = stage(h)
            h = self.pool(h)  # (B, feature_dim)
        return self.fusion.features(h, x) if self.fusion is not None else h

    def classify(self, features: torch.Tensor) -> torch.Tensor:
        """The last linear layer: penultimate features -> class scores."""
        return self.fusion.classifier(features) if self.fusion is not None else self.head(features)

    def suffix(self, h: torch.Tensor, x: torch.Tensor | None = None) -> torch.Tensor:
        return self.classify(self.suffix_features(h, x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.suffix(self.prefix(x), x)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate features of images: the mapping the new head reads from."""
        return self.suffix_features(self.prefix(x), x)

    def train(self, mode: bool = True) -> "TransferModel":
        super().train(mode)
        for stage in list(self.stages.values())[: self.frozen]:
            stage.eval()  # frozen stages keep their pretrained BatchNorm statistics
        return self


TRAINABLE_BN_MOMENTUM = 0.1


def freeze_stages(model: TransferModel, k: int) -> None:
    """Freeze the first k stages (and keep their BatchNorm statistics); the rest train."""
    model.frozen = k
    for i, stage in enumerate(model.stages.values()):
        stage.requires_grad_(i >= k)
        if i >= k:
            follow_new_data(stage)


def follow_new_data(stage: nn.Module) -> None:
    """Trainable BatchNorm statistics must catch up with the new data within a short run;
    the Lite weights' TF-style momentum of 0.01 would keep them near ImageNet's for hundreds of steps."""
    for module in stage.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.momentum = TRAINABLE_BN_MOMENTUM


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def initial_model(
    config: TrainConfig,
    num_classes: int,
    state: dict[str, torch.Tensor] | None = None,
    copied: dict[str, torch.Tensor] | None = None,
) -> TransferModel:
    """The model a run starts from, exactly: same seed, same weights, same new head. `state`: weights the
    learner brought, instead of the registry's; `copied`: a trained model whose first `init_stages`
    stages start this one. Both are looked up by `resolve`, which checks who may read them."""
    torch.manual_seed(config.seed)
    model = build_model(config, num_classes, state)
    if copied is not None:
        copy_stages(model, copied, config.init_stages)
    return model


def copy_stages(model: TransferModel, source: dict[str, torch.Tensor], n: int) -> None:
    """Start the first n stages from another trained model's weights (strictly: same architecture)."""
    for name in model.stage_names[:n]:
        prefix = f"stages.{name}."
        model.stages[name].load_state_dict(
            {k.removeprefix(prefix): v for k, v in source.items() if k.startswith(prefix)}
        )


def build_model(config: TrainConfig, num_classes: int, state: dict[str, torch.Tensor] | None = None) -> TransferModel:
    """The target model the config describes; pretrained weights from the registry, or `state`."""
    pretrained = config.starts_pretrained
    backbone = build_backbone(config.backbone, pretrained=pretrained, state=state if pretrained else None)
    frozen = config.frozen_at_start(len(backbone.stages))
    fusion_mode = config.fusion_mode if config.strategy == "fusion" else None
    return TransferModel(backbone, num_classes, frozen, fusion_mode)


def param_groups(model: TransferModel, lr: float, stage_lr_decay: float) -> list[dict]:
    """Discriminative learning rates: the stage i places before the head trains at lr * decay**i."""
    groups = []
    stages = list(model.stages.values())
    for i, stage in enumerate(stages):
        params = [p for p in stage.parameters() if p.requires_grad]
        if params:
            groups.append({"params": params, "lr": lr * stage_lr_decay ** (len(stages) - i)})
    head = model.fusion if model.fusion is not None else model.head
    groups.append({"params": list(head.parameters()), "lr": lr})
    return groups
