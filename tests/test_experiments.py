from dataclasses import fields

from transfer_core.config import TrainConfig
from transfer_core.lessons.questions import CLOSE
from transfer_core.lessons.race import race_configs, race_winner, seeded_race, trained_parameters
from transfer_core.resolve import check

TASK_FIELDS = ("dataset", "train_per_class", "val_per_class", "image_size", "seed", "epochs", "val_shift", "backbone")
STRATEGY_FIELDS = {"strategy", "weights", "frozen_stages", "lr", "probe_epochs"}


def test_the_race_gives_every_strategy_the_same_task_and_changes_only_what_makes_the_strategy():
    base = TrainConfig(epochs=4, seed=11, val_shift="blur", train_per_class=30, batch_size=16, augment=True)
    race = race_configs(base, partial_frozen=5)
    assert list(race) == [
        "from scratch", "linear probe", "partial fine-tune (5 frozen)", "full fine-tune", "LP-FT", "feature fusion"
    ]  # fmt: skip
    for label, config in race.items():
        if label == "from scratch":  # the fair baseline: its own learning rate and twice the epochs
            assert (config.lr, config.epochs) == (1e-3, 2 * base.epochs)
            config = config.replace(epochs=base.epochs)
        assert all(getattr(config, f) == getattr(base, f) for f in TASK_FIELDS), label
        changed = {f.name for f in fields(TrainConfig) if getattr(config, f.name) != getattr(base, f.name)}
        assert changed <= STRATEGY_FIELDS, (label, changed - STRATEGY_FIELDS)
        check(config)  # every entry is a run the registries accept


def test_each_strategy_is_what_its_name_says():
    race = race_configs(TrainConfig(epochs=4))
    assert race["from scratch"].strategy == "scratch" and race["from scratch"].weights == "random"
    assert race["linear probe"].is_linear_probe
    assert race["partial fine-tune (4 frozen)"].frozen_stages == 4
    assert race["full fine-tune"].frozen_stages == 0
    assert race["LP-FT"].strategy == "lpft" and race["LP-FT"].probe_epochs == 2
    assert race["feature fusion"].strategy == "fusion"


def test_a_backbone_without_pretrained_weights_races_from_scratch_alone():
    base = TrainConfig(backbone="small_cnn", weights="random", strategy="scratch", frozen_stages=0)
    assert list(race_configs(base)) == ["from scratch"]


def test_weights_the_learner_brought_are_what_the_transfer_strategies_start_from():
    base = TrainConfig(backbone="small_cnn", weights="mine:halves", frozen_stages=2)
    race = race_configs(base)
    assert len(race) == 6 and race["from scratch"].weights == "random"
    assert {c.weights for label, c in race.items() if label != "from scratch"} == {"mine:halves"}


def test_a_one_epoch_race_leaves_out_lpft_which_needs_an_epoch_to_fine_tune():
    race = race_configs(TrainConfig(epochs=1))
    assert "LP-FT" not in race and len(race) == 5


def test_lpft_ends_up_training_every_parameter():
    race = race_configs(TrainConfig(epochs=4))
    assert trained_parameters(race["LP-FT"], 10) == trained_parameters(race["full fine-tune"], 10)
    assert trained_parameters(race["linear probe"], 10) == 1280 * 10 + 10


def test_a_race_over_seeds_runs_every_strategy_per_seed_seed_by_seed():
    race = race_configs(TrainConfig(epochs=2, seed=4))
    seeded = seeded_race(race, (4, 5))
    assert list(seeded)[: len(race)] == list(race), "the first seed keeps the plain labels and lands first"
    assert list(seeded)[len(race) :] == [f"{label} · seed 5" for label in race]
    assert {seeded[f"{label} · seed 5"].seed for label in race} == {5}
    assert seeded["linear probe · seed 5"].replace(seed=4) == race["linear probe"]


def test_the_race_is_decided_by_the_lessons_rule_and_one_seed_is_too_close_to_call():
    def planted(**by_strategy):
        return {(s if seed == 0 else f"{s} · seed {seed}"): acc
                for s, accs in by_strategy.items() for seed, acc in enumerate(accs)}  # fmt: skip

    clear = planted(
        **{"linear probe": [0.80, 0.82, 0.81], "from scratch": [0.60, 0.65, 0.62], "LP-FT": [0.70, 0.71, 0.7]}
    )
    assert race_winner(clear) == "linear probe"
    assert race_winner({"linear probe": 0.9, "from scratch": 0.1}) == CLOSE, "one seed cannot measure its noise"
    close = planted(**{"linear probe": [0.80, 0.74, 0.81], "LP-FT": [0.78, 0.79, 0.76]})
    assert race_winner(close) == CLOSE


def test_model_choice_asks_whether_the_best_imagenet_source_transfers_best_and_can_say_either():
    from transfer_core.lessons import model_choice

    def seeds(*values):
        return dict(enumerate(values))

    ordered = {"efficientnet_lite0": seeds(0.70, 0.71, 0.72), "efficientnet_lite1": seeds(0.74, 0.75, 0.75),
               "efficientnet_lite2": seeds(0.78, 0.80, 0.79)}  # fmt: skip
    assert model_choice.decide(ordered) == "higher"
    assert model_choice.correlation(ordered) > 0.9
    reversed_ = {"efficientnet_lite0": seeds(0.80, 0.81, 0.82), "efficientnet_lite2": seeds(0.70, 0.72, 0.71)}
    assert model_choice.decide(reversed_) == "not_higher"
    noisy = {"efficientnet_lite0": seeds(0.75, 0.70, 0.80), "efficientnet_lite2": seeds(0.78, 0.74, 0.76)}
    assert model_choice.decide(noisy) == CLOSE
    assert set(model_choice.choice_runs(["efficientnet_lite0", "resnet18"])) == {"efficientnet_lite0", "resnet18"}
    assert model_choice.choice_runs(["efficientnet_lite1"])["efficientnet_lite1"].is_linear_probe


def test_a_runs_time_is_estimated_from_the_speeds_measured_on_two_cores():
    from transfer_core.lessons.questions import get_lesson
    from transfer_core.lessons.reference import load
    from transfer_core.models.run_time import expected_seconds

    lesson = get_lesson("why")
    measured = load().of(lesson)
    for label, config in lesson.experiment.runs.items():
        seconds = [r.seconds for name, r in measured.items() if name.startswith(label)]
        if label == "scratch":  # the reference's training seconds; a probe's are its head alone
            assert abs(expected_seconds(config, 10) - sum(seconds) / len(seconds)) < 0.3 * max(seconds)
    race = race_configs(TrainConfig())
    total = sum(expected_seconds(config, 10) for config in race.values())
    assert 15 * 60 < total < 25 * 60, "the default race: about 19 minutes on 2 cores, as a newcomer measured"
    assert expected_seconds(TrainConfig(image_size=128), 10) > 3 * expected_seconds(TrainConfig(), 10)
    assert expected_seconds(TrainConfig(backbone="word_gru", dataset="words_near"), 4) is None, "not timed"
