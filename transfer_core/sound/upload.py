"""A learner's own clips: WAV files per class (uploaded, in a zip of class folders, or recorded in the
browser), each checked before it is kept, the way uploaded images are.

A clip is refused, with the reason, when it is not a WAV file, is damaged, has a sample rate outside
8-48 kHz, more than two channels, lasts under a tenth of a second or over MAX_SECONDS, or is silent.
The rest of an upload is kept. Files are read in memory, never written under the names they came with.
"""

import io

import numpy as np

from transfer_core.data.uploads import FileRefused, Reader
from transfer_core.messages import say
from transfer_core.settings import UploadLimits
from transfer_core.sound.clips import WAV_SUFFIXES, fit_clip

RATES = (8_000, 48_000)  # the sample rates accepted, in Hz
MAX_CHANNELS = 2
MIN_SECONDS, MAX_SECONDS = 0.1, 10.0
SILENT_PEAK = 1e-3  # a clip whose loudest sample is below this (of full scale) holds nothing to learn


def read_wav(data: bytes, limits: UploadLimits) -> np.ndarray:
    """An uploaded WAV file as a fitted int16 clip; FileRefused saying why it cannot be one."""
    import soundfile

    if len(data) > limits.upload_bytes:
        raise FileRefused(say("upload.file_size", "larger than the {limit} MB limit", limit=limits.upload_mb))
    try:
        info = soundfile.info(io.BytesIO(data))
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as err:
        raise FileRefused(say("sound.unreadable", "not a readable WAV file ({error})", error=str(err))) from err
    if info.format not in ("WAV", "WAVEX"):
        raise FileRefused(say("sound.not_wav", "a {format} file, not a WAV file; save it as WAV", format=info.format))
    check_header(info.samplerate, info.channels, info.frames / max(info.samplerate, 1))
    try:
        audio, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError) as err:
        raise FileRefused(say("sound.damaged", "a damaged WAV file ({error})", error=str(err))) from err
    if audio.size == 0 or float(np.abs(audio).max()) < SILENT_PEAK:
        raise FileRefused(say("sound.silent", "silent: record the word again, closer to the microphone"))
    return fit_clip(audio.mean(axis=1), rate)


def check_header(rate: int, channels: int, seconds: float) -> None:
    if not RATES[0] <= rate <= RATES[1]:
        sentence = "a sample rate of {rate:,} Hz; the lab takes {low:,} to {high:,} Hz"
        raise FileRefused(say("sound.rate", sentence, rate=rate, low=RATES[0], high=RATES[1]))
    if channels > MAX_CHANNELS:
        raise FileRefused(say("sound.channels", "{channels} channels; the lab takes mono or stereo", channels=channels))
    if seconds < MIN_SECONDS:
        sentence = "{seconds:.2f} s long, too short to hold a word (at least {least} s)"
        raise FileRefused(say("sound.short", sentence, seconds=seconds, least=MIN_SECONDS))
    if seconds > MAX_SECONDS:
        sentence = "{seconds:.0f} s long; the lab keeps one word a clip: cut it to under {most:.0f} s"
        raise FileRefused(say("sound.long", sentence, seconds=seconds, most=MAX_SECONDS))


CLIPS = Reader(WAV_SUFFIXES, read_wav, "clip", "sound")
