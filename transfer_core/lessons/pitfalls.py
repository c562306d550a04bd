"""The BatchNorm pitfall, measured: freezing a stage's weights does not freeze its BatchNorm statistics.

`requires_grad_(False)` stops the optimizer, but in training mode every BatchNorm layer still replaces
its running mean and variance with the batches it sees. A "frozen" ImageNet backbone put in
`model.train()` therefore drifts toward the new data's statistics, and the features the new head
learned from are not the ones it is evaluated on. The lab keeps frozen stages in eval mode
(`TransferModel.train`); this module shows what happens without that.
"""

from dataclasses import dataclass

import torch
from torch import nn

from transfer_core.data.preparation import normalize, prepare_data
from transfer_core.data.registry import load_shared
from transfer_core.models.backbones import build_backbone, get_spec


@dataclass(frozen=True)
class PitfallResult:
    weights_changed: bool  # whether any frozen weight moved (it never does: requires_grad is off)
    statistics_moved: float  # mean relative change of the BatchNorm running means
    features_moved: float  # relative change of the same images' features, in eval mode afterwards


def batchnorm_pitfall(keep_eval: bool, backbone: str = "efficientnet_lite0", batches: int = 30) -> PitfallResult:
    """Pass `batches` of Fashion-MNIST through a frozen backbone in training mode, as a training loop does,
    with its stages kept in eval mode (`keep_eval`, the fix) or not (the pitfall), and measure the drift."""
    torch.manual_seed(0)
    model = build_backbone(backbone, pretrained=True)
    model.requires_grad_(False)  # "frozen"
    data = prepare_data(load_shared("fashion_mnist"), 16 * batches // 10, 10, 64, seed=0)
    images = normalize(data.train_x, get_spec(backbone).preprocessing)
    probe = normalize(data.val_x, get_spec(backbone).preprocessing)
    layers = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    weights = {name: p.clone() for name, p in model.named_parameters()}
    means = [layer.running_mean.clone() for layer in layers]
    model.eval()
    with torch.no_grad():
        before = model.forward_features(probe)
        model.train()  # what every training loop calls at the start of an epoch
        if keep_eval:
            model.eval()  # the fix: frozen stages keep ImageNet's statistics
        for start in range(0, len(images), 16):
            model.forward_features(images[start : start + 16])
        model.eval()
        after = model.forward_features(probe)
    moved = [((layer.running_mean - m).norm() / m.norm().clamp_min(1e-12)).item() for layer, m in zip(layers, means)]
    return PitfallResult(
        weights_changed=any(not torch.equal(p, weights[name]) for name, p in model.named_parameters()),
        statistics_moved=sum(moved) / len(moved),
        features_moved=((after - before).norm() / before.norm()).item(),
    )
