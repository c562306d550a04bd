import subprocess
import sys

import pytest

from transfer_core.config import TrainConfig
from transfer_core.errors import ConfigError
from transfer_core.resolve import check


def test_defaults_describe_the_offline_linear_probe():
    config = TrainConfig()
    assert (config.backbone, config.dataset, config.strategy) == ("efficientnet_lite0", "fashion_mnist", "copy")
    assert config.is_linear_probe
    assert config.train_per_class * 10 == 2000 and config.image_size == 64


def test_json_round_trip_keeps_every_field():
    config = TrainConfig(strategy="fusion", fusion_mode="gate", lr=0.01, augment=True, seed=7, frozen_stages=3)
    assert TrainConfig.from_json(config.to_json()) == config


def test_query_round_trip_keeps_every_field():
    config = TrainConfig(backbone="resnet18", dataset="folder:/tmp/my pics", stage_lr_decay=0.5, augment=True)
    query = config.to_query()
    assert "augment=true" in query
    assert TrainConfig.from_query(query) == config
    assert TrainConfig.from_query("?" + query) == config


def test_query_fills_missing_fields_with_defaults_and_ignores_other_parameters():
    config = TrainConfig.from_query("epochs=3&lang=en")
    assert config == TrainConfig(epochs=3)


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        TrainConfig().epochs = 3


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"backbone": "../vgg"}, "backbone"),
        ({"dataset": "my data!"}, "dataset"),
        ({"dataset": "mine:"}, "dataset"),
        ({"weights": "hub:resnet"}, "weights"),
        ({"strategy": "magic"}, "strategy"),
        ({"fusion_mode": "product"}, "fusion_mode"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"device": "tpu"}, "device"),
        ({"epochs": 0}, "epochs"),
        ({"lr": -1.0}, "lr"),
        ({"batch_size": "many"}, "batch_size"),
        ({"augment": "maybe"}, "augment"),
        ({"frozen_stages": -2}, "frozen_stages"),
        ({"image_size": 8}, "image_size"),
        ({"epochs": True}, "epochs"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_values_raise_an_error_naming_the_field(changes, field):
    with pytest.raises(ConfigError) as caught:
        TrainConfig.from_dict(changes)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}:")


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"backbone": "vgg99"}, "backbone"),
        ({"dataset": "imagenet21k"}, "dataset"),
        ({"frozen_stages": 10}, "frozen_stages"),
        ({"backbone": "small_cnn", "weights": "imagenet"}, "weights"),
        ({"init_from": "0123456789ab", "init_stages": 99}, "init_stages"),
    ],
)
def test_names_the_registries_do_not_know_are_refused_by_check_naming_the_field(changes, field):
    config = TrainConfig.from_dict(changes)  # an inert value: the registries are not asked yet
    with pytest.raises(ConfigError) as caught:
        check(config)
    assert caught.value.field == field


def test_building_a_config_imports_no_torch_and_reads_no_registry():
    code = (
        "import sys; from transfer_core.config import TrainConfig; "
        "c = TrainConfig.from_query('backbone=resnet18&dataset=mine:pics&weights=mine:w&epochs=3'); "
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('transfer_core')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    expected = ["transfer_core", "transfer_core.config", "transfer_core.errors", "transfer_core.messages"]
    assert loaded.strip() == str(expected)


def test_strings_are_parsed_by_field_type():
    config = TrainConfig.from_dict({"epochs": "4", "lr": "0.5", "augment": "false", "frozen_stages": "2"})
    assert (config.epochs, config.lr, config.augment, config.frozen_stages) == (4, 0.5, False, 2)


def test_integer_learning_rate_becomes_float():
    assert TrainConfig(lr=1).lr == 1.0 and isinstance(TrainConfig(lr=1).lr, float)


def test_bad_json_is_a_config_error():
    with pytest.raises(ConfigError, match="not valid JSON"):
        TrainConfig.from_json("{epochs: 3")


def test_lpft_needs_epochs_left_after_probing():
    with pytest.raises(ConfigError) as caught:
        TrainConfig(strategy="lpft", epochs=2, probe_epochs=2)
    assert caught.value.field == "probe_epochs"


def test_unknown_shift_is_refused():
    with pytest.raises(ConfigError) as caught:
        TrainConfig(val_shift="fog")
    assert caught.value.field == "val_shift"
