"""WAV files built by the tests themselves: good ones and hostile ones."""

import io

import numpy as np
import soundfile


def tone(hz: float, seconds: float = 0.6, rate: int = 16_000, channels: int = 1, at: float = 0.0) -> np.ndarray:
    """float32 (frames, channels): a tone of `hz` after `at` seconds of quiet hiss."""
    rng = np.random.default_rng(int(hz))
    quiet = rng.normal(0, 0.002, (int(at * rate), channels))
    t = np.arange(int(seconds * rate)) / rate
    sound = 0.5 * np.sin(2 * np.pi * hz * t)[:, None].repeat(channels, axis=1)
    sound += rng.normal(0, 0.02, sound.shape)  # a little hiss, as any recording has: a pure tone zips 150 to 1
    return np.concatenate([quiet, sound]).astype(np.float32)


def wav(audio: np.ndarray, rate: int = 16_000, file_format: str = "WAV", subtype: str | None = "PCM_16") -> bytes:
    out = io.BytesIO()
    soundfile.write(out, audio, rate, format=file_format, subtype=subtype)
    return out.getvalue()


def class_clips(pitches: dict[str, float], per_class: int, rate: int = 16_000) -> dict[str, bytes]:
    """{'low/0.wav': bytes, ...}: per_class tones near one pitch per class."""
    return {
        f"{name}/{i}.wav": wav(tone(hz * (1 + 0.03 * i), rate=rate), rate)
        for name, hz in pitches.items()
        for i in range(per_class)
    }
