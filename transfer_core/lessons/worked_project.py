"""The article's worked project — an ImageNet ResNet-18 moved to CIFAR-10 — with its two bugs and the
fix. Each version is a real function: the lesson shows its source and runs it.

Bug 1: `model.children()` is a generator, so `model.children()[0]` raises TypeError.
Bug 2: the pretrained network's 1000 ImageNet scores are used as CIFAR-10's 10 class scores (and
the images are neither resized nor normalised). PyTorch raises nothing: the loss is computed over
1000 classes. `check_scores` makes the mistake visible.
The fix re-uses the stages, puts a new 10-class head on them, and feeds resized, normalised images:
a run of the lab, shown as the plain PyTorch script it exports.
"""

from dataclasses import dataclass

import torch
import torch.nn as nn

from transfer_core.config import TrainConfig
from transfer_core.data.registry import dataset_available
from transfer_core.models.backbones import get_spec
from transfer_core.models.weights import weights_available

ARTICLE_CODE = """\
import torch
import torch.nn as nn
import torchvision.models as models

model = models.resnet18(pretrained=True)
feature_extractor = model.children()[0]

trainloader = torch.utils.data.DataLoader(...)

for epoch in range(num_epochs):
    for images, labels in trainloader:
        outputs = feature_extractor(images)
        loss = criterion(outputs, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
"""


# The article's code with the fewest changes that make it right: the lesson shows them as a diff. The stages
# are kept and frozen, the 1000-class head replaced by a 10-class one, the images resized and normalised as
# the weights expect, and what the article used without defining is defined. It is the run corrected_config
# describes (a linear probe, 64 px, ImageNet's mean and standard deviation), written as the article wrote it.
MINIMAL_FIX = """\
import torch
import torch.nn as nn
import torchvision.models as models
import torchvision.transforms as T
from torchvision.datasets import CIFAR10

model = models.resnet18(weights=models.ResNet18_Weights.IMAGENET1K_V1)
for parameter in model.parameters():
    parameter.requires_grad = False  # keep what ImageNet taught the stages
model.fc = nn.Linear(model.fc.in_features, 10)  # a new head: one score per CIFAR-10 class
model.eval()  # frozen stages keep their BatchNorm statistics (lesson 5); the new head has none
feature_extractor = model

normalise = T.Compose([T.Resize(64), T.ToTensor(), T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
trainloader = torch.utils.data.DataLoader(CIFAR10("data", download=True, transform=normalise), batch_size=32)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.fc.parameters(), lr=3e-3)
num_epochs = 2

for epoch in range(num_epochs):
    for images, labels in trainloader:
        outputs = feature_extractor(images)
        loss = criterion(outputs, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
"""


def changed_lines() -> str:
    """The article's code against the minimal fix, as a unified diff: what a learner would type."""
    import difflib

    diff = difflib.unified_diff(ARTICLE_CODE.splitlines(), MINIMAL_FIX.splitlines(), "article.py", "fixed.py",
                                lineterm="", n=1)  # fmt: skip
    return "\n".join(diff)


@dataclass(frozen=True)
class Setting:
    """What the lesson runs on: the article's choice when this machine has it, else an offline stand-in."""

    backbone: str
    dataset: str
    substituted: bool


def setting() -> Setting:
    wanted_backbone = weights_available("resnet18")[0]
    wanted_data = dataset_available("cifar10")[0]
    return Setting(
        "resnet18" if wanted_backbone else "efficientnet_lite0",
        "cifar10" if wanted_data else "fashion_mnist",
        not (wanted_backbone and wanted_data),
    )


def buggy_feature_extractor(model: nn.Module) -> nn.Module:
    """Bug 1, as the article wrote it."""
    return model.children()[0]


def buggy_scores(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Bug 2: the source network's own output taken as the target task's class scores."""
    return model(images)


def check_scores(scores: torch.Tensor, num_classes: int) -> None:
    """The check the article's code lacks: one score per target class."""
    if scores.ndim != 2 or scores.shape[1] != num_classes:
        raise ValueError(
            f"the model gives scores of shape {tuple(scores.shape)}, but the task has {num_classes} classes: "
            "replace the 1000-class ImageNet head with a new one for the task"
        )


def corrected_config(setting: Setting) -> TrainConfig:
    """The fix, as a run: the stages kept and frozen, a new head with one output per class, images resized
    to 64 px and normalised as the weights expect; a 2-epoch linear probe on 20 images per class. The lesson
    shows it as plain PyTorch (export.script) and runs it through the lab's runner."""
    return TrainConfig(backbone=setting.backbone, dataset=setting.dataset, train_per_class=20, val_per_class=20,
                       epochs=2, batch_size=32)  # fmt: skip


def run_bug_1(backbone: str) -> str:
    """The error bug 1 raises, as `ExceptionName: message`."""
    try:
        buggy_feature_extractor(get_spec(backbone).build_raw())
    except TypeError as err:
        return f"TypeError: {err}"
    return "no error"


def run_bug_2(backbone: str, num_classes: int = 10) -> tuple[tuple[int, ...], str]:
    """Bug 2's output shape for a CIFAR-sized batch, and what the check says about it."""
    model = get_spec(backbone).build_raw().eval()
    with torch.no_grad():
        scores = buggy_scores(model, torch.rand(4, 3, 32, 32))
    try:
        check_scores(scores, num_classes)
    except ValueError as err:
        return tuple(scores.shape), f"ValueError: {err}"
    return tuple(scores.shape), "no error"
