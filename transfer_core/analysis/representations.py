"""Looking inside the mapping: embeddings, activations, Grad-CAM, weight drift, CKA.

Arrays out, no plotting: ui/figures.py draws them.
"""

import copy

import numpy as np
import torch
from torch import nn

# --- weight drift -----------------------------------------------------------------------------


def parameter_snapshot(model: nn.Module) -> dict[str, list[torch.Tensor]]:
    """A copy of every stage's parameters, to measure drift against later (stages may be unfrozen later)."""
    return {name: [p.detach().clone() for p in stage.parameters()] for name, stage in model.stages.items()}


@torch.no_grad()
def weight_drift(start: dict[str, list[torch.Tensor]], model: nn.Module) -> dict[str, float]:
    """Per stage: ||w - w0|| / ||w0|| over all its parameters (0 for a stage that never changed)."""
    drift = {}
    for name, stage in model.stages.items():
        if not any(p.requires_grad for p in stage.parameters()):
            drift[name] = 0.0  # frozen: nothing can have moved, and skipping it keeps recording cheap
            continue
        before = torch.cat([p.flatten().float() for p in start[name]])
        now = torch.cat([p.detach().flatten().float() for p in stage.parameters()])
        drift[name] = float(torch.linalg.vector_norm(now - before) / torch.linalg.vector_norm(before).clamp_min(1e-12))
    return drift


# --- representation similarity ------------------------------------------------------------------


def linear_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Linear CKA (Kornblith et al., 2019) between two representations of the same N examples.

    x: (N, Dx), y: (N, Dy). Computed from N x N Gram matrices, so wide layers cost little.
    """
    x = x.reshape(len(x), -1).astype(np.float64)
    y = y.reshape(len(y), -1).astype(np.float64)
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    gram_x, gram_y = x @ x.T, y @ y.T
    hsic = (gram_x * gram_y).sum()
    norm = np.sqrt((gram_x * gram_x).sum() * (gram_y * gram_y).sum())
    return float(hsic / norm) if norm > 0 else 0.0


@torch.no_grad()
def stage_outputs(model: nn.Module, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The output of every stage for a batch of normalised images."""
    model.eval()
    outputs = {}
    for name, stage in model.stages.items():
        x = stage(x)
        outputs[name] = x
    return outputs


def stagewise_cka(model_a: nn.Module, model_b: nn.Module, x: torch.Tensor) -> dict[str, float]:
    """Per stage, linear CKA between the two models' activations on the same images."""
    a, b = stage_outputs(model_a, x), stage_outputs(model_b, x)
    return {name: linear_cka(a[name].flatten(1).numpy(), b[name].flatten(1).numpy()) for name in a}


# --- embeddings --------------------------------------------------------------------------------


def project_2d(features: np.ndarray, method: str = "pca", seed: int = 0) -> np.ndarray:
    """(N, D) -> (N, 2) with scikit-learn's PCA or t-SNE."""
    from sklearn.decomposition import PCA  # scikit-learn takes seconds to import: only the Features page needs it
    from sklearn.manifold import TSNE

    features = features.astype(np.float32)
    if method == "tsne":
        perplexity = min(30.0, (len(features) - 1) / 3)
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(features)
    return PCA(n_components=2, random_state=seed).fit_transform(features)


def project_epochs_2d(embeddings: list[np.ndarray], seed: int = 0) -> list[np.ndarray]:
    """One PCA fitted on all epochs together, so the axes stay put while the points move."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=2, random_state=seed).fit(np.concatenate(embeddings).astype(np.float32))
    return [pca.transform(e.astype(np.float32)) for e in embeddings]


# --- activations and filters ---------------------------------------------------------------------


def strongest_channels(activations: torch.Tensor, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """For one image's stage output (C, H, W): the k channels with the highest mean activation,
    scaled together to [0, 1] (so a saturated channel shows white, not blank).
    Returns (channel indices, maps (k, H, W))."""
    means = activations.mean(dim=(1, 2))
    top = torch.topk(means, min(k, len(means))).indices
    maps = activations[top].float()
    low, high = maps.min(), maps.max()
    return top.numpy(), ((maps - low) / (high - low).clamp_min(1e-8)).numpy()


def first_layer_filters(model: nn.Module) -> np.ndarray:
    """The first convolution's filters as RGB images in [0, 1]: (n, k, k, 3)."""
    first_stage = next(iter(model.stages.values()))
    conv = next(m for m in first_stage.modules() if isinstance(m, nn.Conv2d))
    weight = conv.weight.detach().float()  # (n, 3, k, k)
    low = weight.amin(dim=(1, 2, 3), keepdim=True)
    high = weight.amax(dim=(1, 2, 3), keepdim=True)
    return ((weight - low) / (high - low).clamp_min(1e-8)).permute(0, 2, 3, 1).numpy()


# --- attribution ---------------------------------------------------------------------------------


def grad_cam(
    model: nn.Module, x: torch.Tensor, target: torch.Tensor, stage: str, size: tuple[int, int] | None = None
) -> np.ndarray:
    """Grad-CAM (captum's LayerGradCam) of class `target` at `stage`'s output, upsampled to the input
    (or to `size`: a waveform's map is drawn over its spectrogram).

    x: (B, 3, H, W) normalised, or (B, S) waveforms; target: (B,) class indices. Returns (B, H, W) in [0, 1].
    It works on a copy of `model`: captum hooks the layer while it attributes, and pages share one model
    per run between every tab, so two tabs asking at once would read each other's activations."""
    from captum.attr import LayerAttribution, LayerGradCam

    model = copy.deepcopy(model).eval()
    cam = LayerGradCam(model, model.stages[stage])
    attribution = cam.attribute(x, target=target, relu_attributions=True)  # (B, 1, h, w)
    upsampled = LayerAttribution.interpolate(attribution, size or tuple(x.shape[-2:]), interpolate_mode="bilinear")
    maps = upsampled[:, 0].detach()
    high = maps.flatten(1).amax(dim=1).view(-1, 1, 1).clamp_min(1e-8)
    return (maps / high).clamp(0, 1).numpy()


def cam_stage(model: nn.Module, image_size: int, min_side: int = 4, example: torch.Tensor | None = None) -> str:
    """The last stage whose output is still at least `min_side` pixels across: at small image sizes
    the final stage is 2 x 2, too coarse to show where the network looks. `example`: one input of
    another shape (a waveform) to measure with."""
    chosen = next(iter(model.stages))
    x = torch.zeros(1, 3, image_size, image_size) if example is None else example
    with torch.no_grad():
        for name, output in stage_outputs(model, x).items():
            if min(output.shape[-2:]) >= min_side:
                chosen = name
    return chosen
