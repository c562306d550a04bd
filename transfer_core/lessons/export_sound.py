"""Spoken words in an exported script: the lab's own synthesis and spectrograms, written out from its
source, so that the script builds the same clips and the same pictures with espeak-ng, soundfile, soxr
and librosa, and none of the lab. An image network then reads the pictures as the rest of the script
reads any images."""

import inspect

from transfer_core.sound import clips, spectrogram, speech

PACKAGES = ["soundfile", "soxr", "librosa", "Debian's espeak-ng"]
IMPORTS = ["import hashlib", "import subprocess", "import tempfile", "from dataclasses import dataclass",
           "from functools import lru_cache", "from pathlib import Path"]  # fmt: skip


def _sources(*functions) -> str:
    return "\n\n".join(inspect.getsource(function).strip("\n") for function in functions)


def data_section(dataset: str) -> str:
    spec = speech.SPEECH_SETS[dataset]
    constants = f"""SAMPLE_RATE, CLIP_SAMPLES, SILENCE = {clips.SAMPLE_RATE}, {clips.CLIP_SAMPLES}, {clips.SILENCE}
ESPEAK = "{speech.ESPEAK}"
N_FFT, HOP, N_MELS, FRAMES, TOP_DB = {spectrogram.N_FFT}, {spectrogram.HOP}, {spectrogram.N_MELS}, \
{spectrogram.FRAMES}, {spectrogram.TOP_DB}"""
    one_clip = _sources(clips.resample, clips.trim_silence, clips.loudest_second, clips.fit_clip, clips.to_int16)
    words = _sources(speech.SpeechSet, speech.Utterance, speech.utterances, speech.synthesise, speech.add_noise)
    pictures = _sources(spectrogram.mel_filters, spectrogram.log_mel, spectrogram.spectrogram_images)
    return f"""# %% The data: {spec.title}, synthesised by espeak-ng exactly as the lab does it
{constants}


{one_clip}


{words}


SPEECH = {spec!r}
said = utterances(SPEECH)
with tempfile.TemporaryDirectory() as folder:  # one WAV file a word, read back and mixed with its noise
    clips = np.stack([synthesise(utterance, Path(folder) / f"{{i}}.wav") for i, utterance in enumerate(said)])
labels = np.asarray([SPEECH.words.index(utterance.word) for utterance in said], dtype=np.int64)


# %% Sound as pictures: each clip's log-mel spectrogram, what an image network reads of it
{pictures}


images = spectrogram_images(torch.from_numpy(clips)).numpy()  # uint8 (N, N_MELS, FRAMES)"""
