import numpy as np
import pytest
import skimage.data
import torch
import torchvision.models as tvm
from sklearn.datasets import load_sample_images

from transfer_core.errors import WeightsUnavailable
from transfer_core.models.backbones import BACKBONES, build_backbone, get_spec
from transfer_core.models.efficientnet_lite import LITE_SPECS, EfficientNetLite
from transfer_core.models.imagenet import photo_tensor, predict_topk
from transfer_core.models.weights import pretrained_state_dict, torchvision_cache_path, weights_available
from transfer_core.words.word_lists import MAX_LETTERS, VOCABULARY

LITES = ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]
CATS = {"tabby", "tiger cat", "Egyptian cat"}


@pytest.mark.parametrize("name", LITES)
def test_lite_weights_load_strictly_into_our_architecture(name):
    model = EfficientNetLite(LITE_SPECS[name])
    state = pretrained_state_dict(name)
    assert model.load_state_dict(state, strict=True)  # raises on any missing or unexpected key
    assert len(model._blocks) == sum(LITE_SPECS[name].repeats)


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    china, _ = load_sample_images().images
    return {
        "cat": skimage.data.chelsea(),
        "coffee": skimage.data.coffee(),
        "china": china,
        "rocket": skimage.data.rocket(),
    }


@pytest.mark.parametrize("name", LITES)
def test_lite_predicts_the_right_imagenet_class_on_real_photos(name, photos):
    model, prep = build_backbone(name), get_spec(name).preprocessing

    def top(photo: str) -> list[str]:
        return [p.label for p in predict_topk(model, photos[photo], prep)]

    assert top("cat")[0] in CATS and set(top("cat")[:3]) == CATS  # scikit-image's Chelsea the cat
    assert top("coffee")[0] == "espresso"  # scikit-image's cup of coffee
    assert top("china")[0] == "palace"  # scikit-learn's photo of a Chinese palace
    assert {"missile", "projectile", "space shuttle"} & set(top("rocket"))  # top-5


@pytest.mark.parametrize("name", list(BACKBONES))
def test_stages_compose_to_the_original_network(name):
    """Running the named stages in order gives exactly the raw network's output."""
    spec = get_spec(name)
    torch.manual_seed(0)
    raw = spec.build_raw().eval()
    staged = spec.to_staged(raw).eval()
    assert staged.stage_names == list(spec.stage_names)
    sentences = torch.randint(1, 30522, (2, 64)) * (torch.arange(64) < 20)  # 20 tokens, then padding
    inputs = {"words": torch.randint(0, VOCABULARY, (2, MAX_LETTERS)), "sound": torch.randn(2, 16000) * 0.1,
              "text": sentences}  # fmt: skip
    x = inputs.get(spec.reads, torch.randn(2, 3, 64, 64))
    with torch.no_grad():
        features = staged.forward_features(x)
        assert features.shape == (2, spec.feature_dim)
        if staged.classifier is not None:
            torch.testing.assert_close(staged(x), raw(x))


def test_every_parameter_belongs_to_exactly_one_stage_or_the_classifier():
    for name in BACKBONES:
        spec = get_spec(name)
        raw = spec.build_raw()
        staged = spec.to_staged(raw)
        # CREPE's pitch head reads single windows, not a clip's pooled features: it is left behind, as a
        # source task's head is in every transfer.
        left = raw.classifier if name == "crepe_tiny" else torch.nn.Identity()
        raw_count = sum(p.numel() for p in raw.parameters()) - sum(p.numel() for p in left.parameters())
        assert sum(p.numel() for p in staged.parameters()) == raw_count, name


def test_torchvision_weights_load_from_the_cache_the_weights_api_reads():
    reference = tvm.resnet18(weights=None).state_dict()
    path = torchvision_cache_path("resnet18")
    path.parent.mkdir(parents=True)
    torch.save(reference, path)
    assert weights_available("resnet18")[0]
    model = build_backbone("resnet18", pretrained=True)
    torch.testing.assert_close(model.stages["layer4"][1].conv2.weight, reference["layer4.1.conv2.weight"])
    torch.testing.assert_close(model.classifier.weight, reference["fc.weight"])


@pytest.mark.parametrize("name", ["resnet18", "mobilenet_v3_small", "efficientnet_b0"])
def test_missing_torchvision_weights_say_how_to_get_them(name):
    available, why = weights_available(name)
    assert not available
    with pytest.raises(WeightsUnavailable) as caught:
        build_backbone(name, pretrained=True)
    message = str(caught.value)
    assert str(torchvision_cache_path(name)) in message and "choose random weights" in message


def test_random_initialisation_works_without_weights():
    model = build_backbone("mobilenet_v3_small", pretrained=False)
    assert model.forward_features(torch.randn(2, 3, 64, 64)).shape == (2, 576)


def test_small_cnn_has_no_pretrained_weights():
    assert not get_spec("small_cnn").has_pretrained
    with pytest.raises(WeightsUnavailable, match="choose random weights"):
        build_backbone("small_cnn", pretrained=True)


def test_lite_preprocessing_matches_the_tensorflow_scaling():
    """(x_uint8 - 127) / 128 is what the converted weights expect."""
    prep = get_spec("efficientnet_lite0").preprocessing
    image = np.full((300, 300, 3), 255, dtype=np.uint8)
    assert photo_tensor(image, prep).flatten()[0].item() == pytest.approx((255 - 127) / 128, abs=1e-5)
