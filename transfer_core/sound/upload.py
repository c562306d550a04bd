"""A learner's own clips: WAV files per class (uploaded, in a zip of class folders, or recorded in the
browser), each checked before it is kept, the way uploaded images are.

A clip is refused, with the reason, when it is not a WAV file, is damaged, has a sample rate outside
8-48 kHz, more than two channels, lasts under a tenth of a second or over MAX_SECONDS, or is silent.
The rest of an upload is kept. Files are read in memory, never written under the names they came with.
"""

import io

import numpy as np

from transfer_core.data.uploads import FileRefused, Reader
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
        raise FileRefused(f"larger than the {limits.upload_mb} MB limit")
    try:
        info = soundfile.info(io.BytesIO(data))
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as err:
        raise FileRefused(f"not a readable WAV file ({err})") from err
    if info.format not in ("WAV", "WAVEX"):
        raise FileRefused(f"a {info.format} file, not a WAV file; save it as WAV")
    check_header(info.samplerate, info.channels, info.frames / max(info.samplerate, 1))
    try:
        audio, rate = soundfile.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError) as err:
        raise FileRefused(f"a damaged WAV file ({err})") from err
    if audio.size == 0 or float(np.abs(audio).max()) < SILENT_PEAK:
        raise FileRefused("silent: record the word again, closer to the microphone")
    return fit_clip(audio.mean(axis=1), rate)


def check_header(rate: int, channels: int, seconds: float) -> None:
    if not RATES[0] <= rate <= RATES[1]:
        raise FileRefused(f"a sample rate of {rate:,} Hz; the lab takes {RATES[0]:,} to {RATES[1]:,} Hz")
    if channels > MAX_CHANNELS:
        raise FileRefused(f"{channels} channels; the lab takes mono or stereo")
    if seconds < MIN_SECONDS:
        raise FileRefused(f"{seconds:.2f} s long, too short to hold a word (at least {MIN_SECONDS} s)")
    if seconds > MAX_SECONDS:
        raise FileRefused(f"{seconds:.0f} s long; the lab keeps one word a clip: cut it to under {MAX_SECONDS:.0f} s")


CLIPS = Reader(WAV_SUFFIXES, read_wav, "clip", "sound")
