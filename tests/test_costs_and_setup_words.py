import pytest

from transfer_core.config import TrainConfig
from transfer_core.models.costs import stage_table, trainable_parameters
from transfer_core.models.strategies import build_model, count_parameters
from ui.describe import describe_config, setting_values


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(),
        TrainConfig(frozen_stages=0),
        TrainConfig(frozen_stages=4),
        TrainConfig(strategy="scratch"),
        TrainConfig(strategy="fusion", fusion_mode="gate", frozen_stages=7),
        TrainConfig(backbone="resnet18", weights="random", frozen_stages=2),
    ],
)
def test_parameter_counts_match_the_built_model(config):
    model = build_model(config.replace(weights="random"), 10)
    expected = (count_parameters(model, trainable_only=True), count_parameters(model))
    assert trainable_parameters(config, 10) == expected


def test_stage_table_follows_the_image_through_the_network():
    rows = stage_table("resnet18", 64)
    assert [r["stage"] for r in rows] == ["stem", "layer1", "layer2", "layer3", "layer4"]
    assert rows[0]["output (C x H x W)"] == "64 x 16 x 16" and rows[-1]["output (C x H x W)"] == "512 x 2 x 2"


@pytest.mark.parametrize(
    "config, words",
    [
        (TrainConfig(), "9 of 9 stages frozen (a linear probe)"),
        (TrainConfig(frozen_stages=0), "0 of 9 stages frozen (full fine-tuning)"),
        (
            TrainConfig(strategy="fusion", frozen_stages=3),
            "feature fusion (concat): the source (3 of 9 stages frozen, the rest fine-tuned) beside a small new branch",
        ),
        (TrainConfig(strategy="fusion"), "feature fusion (concat): the source (frozen) beside a small new branch"),
        (TrainConfig(strategy="scratch"), "random weights → Fashion-MNIST, from scratch"),
        (TrainConfig(), "EfficientNet-Lite0 with ImageNet weights → Fashion-MNIST"),
        (TrainConfig(weights="mine:my cat photos"), "EfficientNet-Lite0 with your weights 'my cat photos' →"),
        (TrainConfig(strategy="scratch", weights="mine:w"), "with random weights → Fashion-MNIST, from scratch"),
    ],
)
def test_describe_says_what_transfers(config, words):
    assert words in describe_config(config)


def test_settings_are_shown_in_the_words_of_the_pages_not_the_links():
    """The Ledger compared runs as `frozen_stages -1` against `6`: a link's way of saying "all"."""
    probe = TrainConfig(frozen_stages=-1)
    assert setting_values(probe)["frozen_stages"] == "9 of 9 stages"
    assert setting_values(probe.replace(frozen_stages=2))["frozen_stages"] == "2 of 9 stages"
    assert setting_values(probe.replace(strategy="scratch"))["strategy"] == "from scratch"
    assert setting_values(probe)["seed"] == "0"
