"""Words by language: Debian's word lists as data, the character-level encoders, and their source."""

import pytest
import torch

from transfer_core.config import TrainConfig
from transfer_core.data import session_memory, user_data
from transfer_core.data.registry import load_shared
from transfer_core.data.uploads import UploadRejected
from transfer_core.errors import ConfigError, WeightsUnavailable
from transfer_core.models import own_sources
from transfer_core.models.backbones import build_backbone
from transfer_core.models.sequence_encoders import WordBranch
from transfer_core.models.strategies import build_model
from transfer_core.models.weights import pretrained_state_dict
from transfer_core.resolve import check
from transfer_core.settings import UploadLimits
from transfer_core.train import Done, Failed, train
from transfer_core.words import source_task, word_lists
from transfer_core.words.upload import import_word_lists

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
    assert raw.images.shape == (4 * word_lists.CANDIDATES, word_lists.MAX_LETTERS)
    sample = [word_lists.decode(tokens) for tokens in raw.images[:: len(raw.images) // 500]]
    assert all(word.isalpha() and word.islower() and 2 <= len(word) <= word_lists.MAX_LETTERS for word in sample)
    swedish = word_lists.language_words("Swedish")  # an ISO-8859-1 file: its letters come through as letters
    assert sum(("å" in w or "ä" in w or "ö" in w) for w in swedish) > len(swedish) // 10


def test_words_are_padded_on_the_left_and_unknown_letters_have_their_own_token():
    tokens = word_lists.encode("façω")
    assert list(tokens[:-4]) == [word_lists.PAD] * (word_lists.MAX_LETTERS - 4)  # the last letter is the last step
    assert tokens[-1] == word_lists.UNKNOWN and word_lists.decode(tokens) == "faç?"


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
    trained = done.weights.state_dict()
    for name, tensor in source.items():
        kept = name.startswith(("stages.embed.", "stages.gru1."))
        assert torch.equal(trained[name], tensor) is kept, name
    assert done.metrics.val_acc > 0.35  # four languages: guessing gets 0.25


def test_feature_fusion_joins_the_frozen_source_with_a_small_word_encoder():
    fusion = WORDS.replace(strategy="fusion", frozen_stages=-1, epochs=3)
    done = finished(fusion)
    model = build_model(fusion.replace(weights="random"), 4)
    model.load_state_dict(done.weights.state_dict())  # every trained tensor, the new word branch's too
    assert isinstance(model.fusion.branch, WordBranch)
    assert done.metrics.val_acc > 0.35
    tokens = torch.from_numpy(word_lists.encode("saudade"))[None]
    assert model.eval()(tokens).shape == (1, 4)


def test_the_word_cnn_and_from_scratch_train_too():
    for config in (WORDS.replace(backbone="word_cnn", epochs=8), WORDS.replace(strategy="scratch", weights="random")):
        assert finished(config).metrics.val_acc > 0.3


def test_the_pretrained_source_ships_and_is_read_not_trained_again(monkeypatch):
    def never(*args):
        raise AssertionError("the source was trained again")

    monkeypatch.setattr(source_task, "build_source", never)
    backbone = build_backbone("word_gru", pretrained=True)
    shipped = pretrained_state_dict("word_gru")["stages.gru1.gru.weight_hh_l0"]
    assert torch.equal(backbone.stages["gru1"].gru.weight_hh_l0, shipped)


def test_without_the_shipped_file_the_source_is_built_by_its_script_then_read(monkeypatch, tmp_path):
    monkeypatch.setattr(own_sources, "SHIPPED", tmp_path / "not-shipped")
    with pytest.raises(WeightsUnavailable, match="python -m transfer_core.words.source_task word_cnn"):
        pretrained_state_dict("word_cnn")
    tiny = source_task.SOURCE_TASK.replace(backbone="word_cnn", train_per_class=20, val_per_class=10, epochs=1)
    monkeypatch.setattr(source_task, "SOURCE_TASK", tiny)
    source_task.build_source("word_cnn", own_sources.source_file("word_cnn"))  # into the data folder
    built = pretrained_state_dict("word_cnn")
    assert set(built) == set(build_backbone("word_cnn", pretrained=False).state_dict())


# --- a learner's own word lists -------------------------------------------------------------------


def word_file(*lines: str) -> bytes:
    return "\n".join(lines).encode()


GOOD_FILES = {
    "Finnish": ("finnish.txt", word_file("talo", "kissa", "koira", "järvi", "metsä", "kirja", "kala", "kissa")),
    "Basque": ("basque.txt", word_file("etxe", "katu", "txakur", "ibai", "mendi", "liburu", "arrain")),
}


def test_uploaded_word_lists_keep_words_and_list_each_bad_line_with_why():
    files = GOOD_FILES | {
        "Basque": (
            "basque.txt",
            word_file(
                "etxe", "katu", "txakur", "ibai", "mendi", "liburu", "two words", "Bilbao", "x", "abc123", "a" * 20
            ),
        ),  # fmt: skip
    }
    result = import_word_lists(files, UploadLimits())
    assert result.counts == {"Finnish": 7, "Basque": 6}  # "kissa" counted once
    assert result.dataset.kind == "words" and result.dataset.classes == ["Finnish", "Basque"]
    reasons = {r.name: r.reason for r in result.refused}
    assert (
        reasons["basque.txt, line 7"]
        == "“two words” is not a word: only letters, one word per line (no spaces, digits or punctuation)"
    )
    assert "starts with a capital" in reasons["basque.txt, line 8"]
    assert "one letter" in reasons["basque.txt, line 9"] and "longer than 16" in reasons["basque.txt, line 11"]
    assert result.summary() == "13 words in 2 classes accepted; 5 lines or files refused."


def test_a_word_file_that_is_not_utf8_too_long_or_too_short_is_refused_with_its_reason():
    limits = UploadLimits(upload_mb=1)
    files = GOOD_FILES | {
        "Latin1": ("latin1.txt", "café\nnaïve\n".encode("latin-1")),
        "Huge": ("huge.txt", b"a\n" * 600_000),
        "Few": ("few.txt", word_file("uno", "dos")),
    }
    reasons = {r.name: r.reason for r in import_word_lists(files, limits).refused}
    assert reasons["latin1.txt"].startswith("not UTF-8 text: save it as UTF-8")
    assert reasons["huge.txt"] == "larger than 1 MB"
    assert reasons["few.txt"] == "2 words; a class needs 5"
    with pytest.raises(UploadRejected, match="two classes need 5 words"):
        import_word_lists({"Few": ("few.txt", word_file("uno", "dos"))}, limits)


def test_own_words_are_kept_saved_read_back_and_trained_with_a_word_encoder(tmp_path):
    dataset = import_word_lists(GOOD_FILES, UploadLimits()).dataset
    user_data.keep_dataset("alice", "nordic", dataset, UploadLimits())
    user_data.save_dataset("alice", "nordic", UploadLimits())
    session_memory.MEMORY.datasets.clear()  # a restarted server: only the saved copy is left
    assert user_data.dataset_kind("alice", "nordic") == "words"
    assert sorted(user_data.dataset_classes("alice", "nordic")) == ["Basque", "Finnish"]
    saved = user_data.load_dataset("alice", "nordic")
    assert sorted(word_lists.decode(t) for t in saved.images) == sorted(word_lists.decode(t) for t in dataset.images)
    config = WORDS.replace(dataset="mine:nordic", train_per_class=4, val_per_class=2, batch_size=4)
    for event in train(config, record=False, owner="alice"):
        assert not isinstance(event, Failed), event.message
    image_backbone = config.replace(backbone="small_cnn", weights="random", strategy="scratch")
    failed = [e for e in train(image_backbone, record=False, owner="alice") if isinstance(e, Failed)]
    assert failed and "holds words" in failed[0].message


def test_a_word_models_new_head_starts_at_equal_odds_and_an_image_models_does_not():

    words_head = build_model(WORDS.replace(frozen_stages=0), 4).head
    assert not words_head.weight.any() and not words_head.bias.any()  # every language at 1/4 before training
    assert build_model(TrainConfig(backbone="small_cnn", weights="random", strategy="scratch"), 4).head.weight.any()
