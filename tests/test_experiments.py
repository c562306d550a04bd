from transfer_core.config import TrainConfig
from transfer_core.data import prepare_data
from transfer_core.experiments import race_configs

TASK_FIELDS = ("dataset", "train_per_class", "val_per_class", "image_size", "seed", "epochs", "val_shift", "backbone")


def test_the_race_gives_every_strategy_the_same_task_split_and_seed():
    base = TrainConfig(epochs=4, seed=11, val_shift="blur", train_per_class=30)
    race = race_configs(base, partial_frozen=5)
    assert list(race) == [
        "from scratch", "linear probe", "partial fine-tune (5 frozen)", "full fine-tune", "LP-FT", "feature fusion"
    ]  # fmt: skip
    for config in race.values():
        assert all(getattr(config, f) == getattr(base, f) for f in TASK_FIELDS)
    splits = {
        name: prepare_data(c.dataset, c.train_per_class, c.val_per_class, c.image_size, c.seed)
        for name, c in race.items()
    }
    first = next(iter(splits.values()))
    for data in splits.values():
        assert data.train_y.tolist() == first.train_y.tolist() and data.val_y.tolist() == first.val_y.tolist()


def test_each_strategy_is_what_its_name_says():
    race = race_configs(TrainConfig(epochs=4))
    assert race["from scratch"].strategy == "scratch" and race["from scratch"].weights == "random"
    assert race["linear probe"].is_linear_probe
    assert race["partial fine-tune (4 frozen)"].frozen_stages == 4
    assert race["full fine-tune"].frozen_stages == 0
    assert race["LP-FT"].strategy == "lpft" and race["LP-FT"].probe_epochs == 2
    assert race["feature fusion"].strategy == "fusion"


def test_lpft_ends_up_training_every_parameter():
    from transfer_core.experiments import trained_parameters

    race = race_configs(TrainConfig(epochs=4))
    assert trained_parameters(race["LP-FT"], 10) == trained_parameters(race["full fine-tune"], 10)
    assert trained_parameters(race["linear probe"], 10) == 1280 * 10 + 10
