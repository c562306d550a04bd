"""One clip of sound as the lab keeps it: 16 kHz mono, one second, int16.

Every clip that enters the lab (synthesised, recorded in the browser, uploaded, read from a folder)
goes through `fit_clip`, so a model always hears the same length at the same rate.
"""

import io

import numpy as np

SAMPLE_RATE = 16_000
CLIP_SAMPLES = SAMPLE_RATE  # one second: long enough for one spoken word
WAV_SUFFIXES = (".wav",)
SILENCE = 0.02  # below this fraction of the peak, a sample counts as silence at a clip's ends


def resample(audio: np.ndarray, rate: int) -> np.ndarray:
    """float32 mono at any rate -> float32 at SAMPLE_RATE (soxr, a kept resampler)."""
    if rate == SAMPLE_RATE:
        return audio.astype(np.float32)
    import soxr

    return soxr.resample(audio.astype(np.float32), rate, SAMPLE_RATE).astype(np.float32)


def trim_silence(audio: np.ndarray) -> np.ndarray:
    """The clip from its first to its last sample above SILENCE of its peak."""
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak == 0.0:
        return audio
    loud = np.flatnonzero(np.abs(audio) > SILENCE * peak)
    return audio[loud[0] : loud[-1] + 1]


def loudest_second(audio: np.ndarray) -> np.ndarray:
    """The CLIP_SAMPLES-long stretch of `audio` holding the most energy: where a recording's word is."""
    energy = np.concatenate([[0.0], np.cumsum(audio.astype(np.float64) ** 2)])
    start = int(np.argmax(energy[CLIP_SAMPLES:] - energy[:-CLIP_SAMPLES]))
    return audio[start : start + CLIP_SAMPLES]


def fit_clip(audio: np.ndarray, rate: int, offset: float = 0.5) -> np.ndarray:
    """float mono at `rate` -> int16 (CLIP_SAMPLES,): resampled, silence trimmed, the sound placed
    `offset` of the way through the free space (0.5: centred), cut to its loudest second if longer,
    and scaled to a peak of 0.9."""
    audio = trim_silence(resample(audio, rate))
    if len(audio) > CLIP_SAMPLES:
        audio = loudest_second(audio)
    clip = np.zeros(CLIP_SAMPLES, dtype=np.float32)
    start = int(round(offset * (CLIP_SAMPLES - len(audio))))
    clip[start : start + len(audio)] = audio
    peak = float(np.abs(clip).max())
    if peak > 0:
        clip *= 0.9 / peak
    return to_int16(clip)


def to_int16(audio: np.ndarray) -> np.ndarray:
    return np.round(np.clip(audio, -1.0, 1.0) * 32767).astype(np.int16)


def to_float(clips: np.ndarray) -> np.ndarray:
    return clips.astype(np.float32) / 32768


def wav_bytes(clip: np.ndarray) -> bytes:
    """An int16 clip as a WAV file's bytes, for a play button or a download."""
    import soundfile

    buffer = io.BytesIO()
    soundfile.write(buffer, clip, SAMPLE_RATE, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def read_clip_file(file) -> np.ndarray:
    """A WAV file (a path or a file object) as a fitted int16 clip; ValueError if it is not one."""
    import soundfile

    try:
        audio, rate = soundfile.read(file, dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as err:
        raise ValueError(str(err)) from err
    return fit_clip(audio.mean(axis=1), rate)
