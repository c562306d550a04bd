"""The sound pages through AppTest: spoken words on the Data page, their clips on Results and Features,
WAV uploads on My data, and lesson 10. (Recording from a microphone is a browser test.)"""

import pytest

from tests.apptest import config_of, open_app, open_lesson, trained
from tests.archives import make_zip
from tests.shown import shown
from tests.sounds import class_clips, tone, wav
from transfer_core.config import TrainConfig

pytestmark = pytest.mark.usefixtures("fresh_runner")

SOUND_RUN = TrainConfig(backbone="speech_cnn", dataset="speech_voices", train_per_class=5, val_per_class=5, epochs=2)


def audio_elements(at):
    return at.get("audio")


def test_choosing_spoken_words_shows_spectrograms_with_play_buttons_and_says_the_speech_is_synthetic():
    at = open_app("app_pages/data.py")
    at.selectbox[0].set_value("speech_digits").run()
    config = config_of(at)
    assert (config.dataset, config.backbone) == ("speech_digits", "efficientnet_lite0")  # an image CNN may listen
    assert (config.train_per_class, config.val_per_class) == (60, 20)  # what 80 clips a word allow
    assert any("synthetic" in shown(i.value) and "zero to nine" in shown(i.value) for i in at.info)
    assert len(audio_elements(at)) == 40  # four clips of each of the ten digits
    assert any("log-mel spectrogram" in shown(c.value) for c in at.caption)
    at.switch_page("app_pages/backbone.py").run()
    at.selectbox[0].set_value("word_gru").run()  # words are no sound: a word encoder brings words back
    assert config_of(at).dataset == "words_near"


def test_a_sound_run_plays_the_clips_it_got_wrong_and_offers_the_microphone():
    at = trained(SOUND_RUN)
    at.switch_page("app_pages/results.py").run()
    assert not at.exception
    headers = [h.value for h in at.subheader]
    assert any("Validation clips it got wrong" in h for h in headers) and "Say a word: the run listens" in headers
    wrong = [m.value for m in at.markdown if m.value.startswith("heard **")]
    assert len(audio_elements(at)) == len(wrong) > 0  # one play button per wrong clip
    assert len(at.get("audio_input")) == 1
    at.switch_page("app_pages/features.py").run()
    assert not at.exception
    assert any("log-mel spectrogram" in shown(c.value) for c in at.caption)  # Grad-CAM drawn over the clips


def test_wav_files_uploaded_in_a_zip_become_a_sound_dataset_with_every_refusal_listed():
    at = open_app("app_pages/my_data.py")
    members = class_clips({"low": 300, "high": 2_000}, 6) | {"high/bad.wav": wav(tone(440, rate=96_000), 96_000)}
    upload = next(u for u in at.file_uploader if u.key == "wav_zip")
    upload.set_value(("clips.zip", make_zip(members), "application/zip")).run()
    assert any("12 clips in 2 classes accepted; 1 file refused" in shown(w.value) for w in at.warning)
    refused = at.dataframe[0].value
    assert refused["reason"].iloc[0].startswith("a sample rate of 96,000 Hz")
    next(b for b in at.button if b.key == "wav_zip_keep").click().run()
    next(b for b in at.button if b.key == "train_on_kept").click().run()
    assert config_of(at).dataset == "mine:clips" and config_of(at).backbone == "efficientnet_lite0"


def test_lesson_10_lets_the_learner_hear_the_target_and_predict_among_four_sources():
    at = open_lesson(open_app(), "crossmodal").run()
    assert not at.exception
    assert at.title[0].value == "10. Can knowledge cross from images to sound?"
    assert len(audio_elements(at)) == 3  # zero, one, two
    options = at.radio[0].options
    assert len(options) == 4 and any("ImageNet" in o for o in options)


@pytest.mark.slow
def test_compare_races_every_strategy_on_spoken_words_without_offering_image_shifts():
    from tests.waiting import wait_until_all_finished
    from ui.session import get_runner

    at = open_app("app_pages/compare.py", config=SOUND_RUN)
    assert not [r for r in at.radio if r.label == "Shifted validation copy"]  # image changes: not for sound
    at.radio(key="race_pick").set_value("linear probe").run()
    next(b for b in at.button if b.label.startswith("Start the race")).click().run()
    race = at.session_state["race"]
    assert len(race) == 6
    wait_until_all_finished(get_runner(), race.values(), timeout=180)
    at.run()
    assert (at.dataframe[0].value["status"] == "done").all()
    assert any("clips per class" in shown(m.value) for m in at.markdown)  # the task, in a sound's words


def test_the_backbone_page_says_a_network_that_hears_reads_sound_not_photos():
    at = open_app("app_pages/backbone.py")
    at.selectbox[0].set_value("crepe_tiny").run()
    assert not at.exception
    assert config_of(at).dataset == "speech_digits"  # a network that hears gets spoken words to read
    assert at.dataframe[0].value["stage"].tolist() == [f"conv{i}" for i in range(1, 7)]
    assert any("This network hears" in shown(i.value) for i in at.info)
    assert any("16 windows" in shown(c.value) for c in at.caption)


@pytest.mark.parametrize("page", ["transfer", "train", "layers", "compare", "ledger"])
def test_every_lab_page_opens_on_a_network_that_hears(page):
    at = open_app(f"app_pages/{page}.py", config=SOUND_RUN.replace(backbone="crepe_tiny"))
    assert not at.exception and not at.error
    if page == "transfer":
        assert any("CREPE's weights" in r for w in at.radio for r in map(str, w.options))
