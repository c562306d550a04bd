import numpy as np
import pytest
import torch

from tests.waiting import wait_until_finished
from transfer_core.analysis.representations import (
    cam_stage,
    first_layer_filters,
    grad_cam,
    linear_cka,
    parameter_snapshot,
    project_2d,
    project_epochs_2d,
    stagewise_cka,
    strongest_channels,
    weight_drift,
)
from transfer_core.config import TrainConfig
from transfer_core.models.strategies import build_model


@pytest.fixture
def features() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(50, 12))


def test_cka_of_a_representation_with_itself_is_one(features):
    assert linear_cka(features, features) == pytest.approx(1.0)


def test_cka_is_invariant_to_orthogonal_transforms_and_isotropic_scaling(features):
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(12, 12)))
    assert linear_cka(features, 3.0 * features @ q) == pytest.approx(1.0)


def test_cka_of_independent_representations_is_small(features):
    other = np.random.default_rng(2).normal(size=(50, 12))
    assert linear_cka(features, other) < 0.4


def test_cka_matches_a_hand_computed_case():
    x = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    y = np.array([[1.0], [0.0], [-1.0], [0.0]])  # keeps x's first coordinate only
    # centred already; X^T Y = [2, 0], ||X^T Y||^2 = 4; ||X^T X|| = ||2 I|| = 2*sqrt(2); ||Y^T Y|| = 2
    assert linear_cka(x, y) == pytest.approx(4 / (2 * np.sqrt(2) * 2))


def test_drift_is_zero_for_frozen_stages_and_positive_for_trained_ones():
    model = build_model(TrainConfig(image_size=32, frozen_stages=7), 10)
    start = parameter_snapshot(model)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(trainable, lr=0.1)
    model.train()
    torch.nn.functional.cross_entropy(model(torch.randn(4, 3, 32, 32)), torch.tensor([0, 1, 2, 3])).backward()
    optimizer.step()
    drift = weight_drift(start, model)
    assert list(drift) == model.stage_names
    assert all(drift[name] == 0.0 for name in model.stage_names[:7])
    assert all(drift[name] > 0.0 for name in model.stage_names[7:])


def test_drift_is_the_relative_l2_change():
    model = build_model(TrainConfig(backbone="small_cnn", weights="random", image_size=32, frozen_stages=0), 2)
    start = parameter_snapshot(model)
    with torch.no_grad():
        for p in model.stages["conv2"].parameters():
            p.mul_(1.5)  # every weight moves by half its size: relative change 0.5
    assert weight_drift(start, model)["conv2"] == pytest.approx(0.5)


def test_identical_models_have_cka_one_at_every_stage():
    model = build_model(TrainConfig(backbone="small_cnn", weights="random", image_size=32), 3)
    cka = stagewise_cka(model, model, torch.randn(20, 3, 32, 32))
    assert list(cka) == model.stage_names and all(v == pytest.approx(1.0) for v in cka.values())


def test_projections_give_two_coordinates_per_image(features):
    assert project_2d(features).shape == (50, 2)
    assert project_2d(features, "tsne").shape == (50, 2)
    epochs = project_epochs_2d([features, features * 2])
    assert [e.shape for e in epochs] == [(50, 2), (50, 2)]


def test_strongest_channels_are_ranked_and_scaled():
    activations = torch.zeros(4, 3, 3)
    activations[2] += 5
    activations[0, 0, 0] = 1
    channels, maps = strongest_channels(activations, k=2)
    assert channels.tolist() == [2, 0]
    assert maps.shape == (2, 3, 3) and maps.min() >= 0 and maps.max() <= 1


def test_first_layer_filters_are_rgb_images():
    model = build_model(TrainConfig(image_size=32), 10)
    filters = first_layer_filters(model)
    assert filters.shape == (32, 3, 3, 3) and filters.min() >= 0 and filters.max() <= 1


def test_grad_cam_highlights_where_the_class_evidence_is():
    """A tiny network whose class 1 fires on bright pixels: Grad-CAM must point at the bright patch."""
    model = build_model(TrainConfig(backbone="small_cnn", weights="random", image_size=32), 2)
    x = torch.zeros(1, 3, 32, 32)
    x[..., 20:28, 20:28] = 3.0
    stage = cam_stage(model, 32)
    with torch.no_grad():  # make the head read "sum of features" so evidence is local brightness
        model.head.weight.zero_()
        model.head.weight[1] = 1.0
    cam = grad_cam(model, x, torch.tensor([1]), stage)
    assert cam.shape == (1, 32, 32)
    assert cam[0, 20:28, 20:28].mean() > cam[0, :8, :8].mean()


def test_grad_cam_never_hooks_the_model_it_is_given(monkeypatch):
    """Pages share one model per run between every tab: captum's hooks must go on a copy of it."""
    import captum.attr

    hooked = []

    class Recording(captum.attr.LayerGradCam):
        def __init__(self, forward_func, layer, *args, **kwargs):
            hooked.append((forward_func, layer))
            super().__init__(forward_func, layer, *args, **kwargs)

    monkeypatch.setattr(captum.attr, "LayerGradCam", Recording)
    model = build_model(TrainConfig(backbone="small_cnn", weights="random", image_size=32), 2)
    stage = cam_stage(model, 32)
    grad_cam(model, torch.rand(2, 3, 32, 32), torch.tensor([0, 1]), stage)
    ((attributed, layer),) = hooked
    assert attributed is not model and layer is not model.stages[stage]


def test_cam_stage_skips_stages_that_are_too_coarse():
    model = build_model(TrainConfig(image_size=64), 10)
    assert cam_stage(model, 64) == "mbconv5"  # 4 x 4 at 64 px; mbconv6 onwards are 2 x 2


def test_activation_maps_of_an_uploaded_photo_cover_every_stage_before_and_after(closing, tmp_path):
    import skimage.data

    from transfer_core.analysis import feature_views
    from transfer_core.runners.runner import Runner
    from transfer_core.store.runs import RunStore

    store = RunStore(tmp_path / "runs")
    runner = closing(Runner(store))
    config = TrainConfig(
        dataset="digits", train_per_class=20, val_per_class=10, image_size=32, epochs=1, frozen_stages=7
    )
    run_id = runner.submit(config, "me")
    wait_until_finished(runner, run_id, timeout=120)
    models = feature_views.load_run_models(store, run_id)
    photo = feature_views.image_at_run_size(models, skimage.data.chelsea())
    assert photo.shape == (32, 32, 3) and photo.dtype == np.uint8
    maps = feature_views.activation_maps(models, photo)
    assert set(maps) == {"before", "after"} and list(maps["after"]) == models.final.stage_names
    for before, after in zip(maps["before"].values(), maps["after"].values(), strict=True):
        assert before.shape == after.shape and before.shape[0] == 8
    frozen_stage = models.final.stage_names[0]
    np.testing.assert_allclose(maps["before"][frozen_stage], maps["after"][frozen_stage])  # frozen: unchanged
