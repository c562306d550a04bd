"""Words by language: Debian's word lists as data, the character-level encoders, and their source."""

import pytest
import torch

from transfer_core import word_source, word_weights, words
from transfer_core.backbones import build_backbone
from transfer_core.config import TrainConfig
from transfer_core.data import load_shared
from transfer_core.errors import ConfigError, WeightsUnavailable
from transfer_core.resolve import check
from transfer_core.sequence_backbones import WordBranch
from transfer_core.train import Done, Failed, train
from transfer_core.weights import pretrained_state_dict

WORDS = TrainConfig(backbone="word_gru", dataset="words_near", train_per_class=40, val_per_class=40, epochs=2,
                    batch_size=32)  # fmt: skip


def finished(config: TrainConfig) -> Done:
    for event in train(config, record=False):
        assert not isinstance(event, Failed), event.message
        if isinstance(event, Done):
            return event
    raise AssertionError("the run did not finish")


def test_the_word_lists_load_offline_as_lower_case_words_labelled_by_language():
    raw = load_shared("words_near")
    assert raw.kind == "words" and raw.classes == ["Portuguese", "Catalan", "Swedish", "Danish"]
    assert raw.images.shape == (4 * words.CANDIDATES, words.MAX_LETTERS)
    sample = [words.decode(tokens) for tokens in raw.images[:: len(raw.images) // 500]]
    assert all(word.isalpha() and word.islower() and 2 <= len(word) <= words.MAX_LETTERS for word in sample)
    swedish = words.language_words("Swedish")  # an ISO-8859-1 file: its letters come through as letters
    assert sum(("å" in w or "ä" in w or "ö" in w) for w in swedish) > len(swedish) // 10


def test_words_are_padded_on_the_left_and_unknown_letters_have_their_own_token():
    tokens = words.encode("façω")
    assert list(tokens[:-4]) == [words.PAD] * (words.MAX_LETTERS - 4)  # the last letter is the last step
    assert tokens[-1] == words.UNKNOWN and words.decode(tokens) == "faç?"


def test_a_word_dataset_needs_a_word_encoder_and_no_image_settings():
    with pytest.raises(ConfigError, match="choose one of word_gru, word_cnn"):
        check(TrainConfig(dataset="words_near"))
    with pytest.raises(ConfigError, match="turn it off for words"):
        check(WORDS.replace(augment=True))
    with pytest.raises(ConfigError, match="choose none for words"):
        check(WORDS.replace(val_shift="blur"))
    with pytest.raises(ConfigError, match="choose one of efficientnet_lite0"):
        check(TrainConfig(backbone="word_cnn"))  # Fashion-MNIST holds images


def test_freezing_the_first_k_recurrent_stages_keeps_them_and_trains_the_rest():
    source = pretrained_state_dict("word_gru")
    done = finished(WORDS.replace(strategy="copy", frozen_stages=2, epochs=6))  # the embedding and first GRU layer
    trained = done.model.state_dict()
    for name, tensor in source.items():
        kept = name.startswith(("stages.embed.", "stages.gru1."))
        assert torch.equal(trained[name], tensor) is kept, name
    assert done.metrics.val_acc > 0.35  # four languages: guessing gets 0.25


def test_feature_fusion_joins_the_frozen_source_with_a_small_word_encoder():
    done = finished(WORDS.replace(strategy="fusion", frozen_stages=-1, epochs=3))
    assert isinstance(done.model.fusion.branch, WordBranch)
    assert done.metrics.val_acc > 0.35
    tokens = torch.from_numpy(words.encode("saudade"))[None]
    assert done.model.eval()(tokens).shape == (1, 4)


def test_the_word_cnn_and_from_scratch_train_too():
    for config in (WORDS.replace(backbone="word_cnn", epochs=8), WORDS.replace(strategy="scratch", weights="random")):
        assert finished(config).metrics.val_acc > 0.3


def test_the_pretrained_source_ships_and_is_read_not_trained_again(monkeypatch):
    def never(*args):
        raise AssertionError("the source was trained again")

    monkeypatch.setattr(word_source, "build_source", never)
    backbone = build_backbone("word_gru", pretrained=True)
    shipped = pretrained_state_dict("word_gru")["stages.gru1.gru.weight_hh_l0"]
    assert torch.equal(backbone.stages["gru1"].gru.weight_hh_l0, shipped)


def test_without_the_shipped_file_the_source_is_built_by_its_script_then_read(monkeypatch, tmp_path):
    monkeypatch.setattr(word_weights, "SHIPPED", tmp_path / "not-shipped")
    with pytest.raises(WeightsUnavailable, match="python -m transfer_core.word_source word_cnn"):
        pretrained_state_dict("word_cnn")
    tiny = word_source.SOURCE_TASK.replace(backbone="word_cnn", train_per_class=20, val_per_class=10, epochs=1)
    monkeypatch.setattr(word_source, "SOURCE_TASK", tiny)
    word_source.build_source("word_cnn", word_weights.source_file("word_cnn"))  # into the data folder
    built = pretrained_state_dict("word_cnn")
    assert set(built) == set(build_backbone("word_cnn", pretrained=False).state_dict())
