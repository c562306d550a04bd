"""Spoken words, synthesised offline with Debian's espeak-ng and cached after the first build.

Each clip is one word said by one synthetic speaker: an accent (an espeak-ng voice) and a voice
variant (m1..m7, f1..f5: formant and pitch presets), at a drawn speed and pitch, placed at a drawn
moment in a one-second clip, with drawn background noise (white hiss and low rumble) mixed in at
5-25 dB below the word. Everything is drawn from the set's seed, so a build is the same every time.

The speech is synthetic: every "speaker" is the same formant synthesiser with other settings, far
more alike than real people, and the noise is simple. A network trained on it learns what espeak-ng
sounds like; what it hears in a real voice is the lab's question to ask, not an answer it gives.
"""

import hashlib
import shutil
import subprocess
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from transfer_core import settings
from transfer_core.errors import DatasetUnavailable
from transfer_core.messages import say
from transfer_core.sound.clips import fit_clip

BUILD_VERSION = 1  # bump when synthesis changes: cached sets of another version are built again
ESPEAK = "espeak-ng"


@dataclass(frozen=True)
class SpeechSet:
    name: str
    title: str
    words: tuple[str, ...]  # one class per word
    accents: tuple[str, ...]  # espeak-ng voices
    variants: tuple[str, ...]  # espeak-ng voice variants: the "speakers" within an accent
    clips_per_word: int
    about: str  # what it is, for the Data page and the command line


COMMANDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SPANISH = ("uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve", "diez")
SOURCE_ACCENTS = ("en-us", "en-gb", "en-gb-x-rp", "en-gb-scotland")
SOURCE_VARIANTS = ("m1", "m2", "m3", "f1", "f2", "f3")
UNSEEN_ACCENTS = ("en-029", "en-us-nyc", "en-gb-x-gbclan", "en-gb-x-gbcwmd")  # never in the source task
UNSEEN_VARIANTS = ("m4", "m5", "m6", "m7", "f4", "f5")

SPEECH_SETS = {
    s.name: s
    for s in (
        SpeechSet("speech_source", "Speech: 10 command words (source)", COMMANDS, SOURCE_ACCENTS, SOURCE_VARIANTS, 120,
                  "the speech encoder's source task: ten command words by 24 synthetic speakers"),
        SpeechSet("speech_voices", "Speech: the same words, new voices", COMMANDS, UNSEEN_ACCENTS, UNSEEN_VARIANTS, 80,
                  "near the source: its ten command words, said by 24 speakers it never heard"),
        SpeechSet("speech_digits", "Speech: English digits, new voices", DIGITS, UNSEEN_ACCENTS, UNSEEN_VARIANTS, 80,
                  "further: ten other English words (zero to nine), by speakers the source never heard"),
        SpeechSet("speech_spanish", "Speech: Spanish numbers", SPANISH, ("es", "es-419"), UNSEEN_VARIANTS, 80,
                  "far: Spanish words (uno to diez) in two Spanish accents, a language the source never heard"),
    )
}  # fmt: skip


def espeak_available() -> tuple[bool, str]:
    if shutil.which(ESPEAK):
        return True, say("speech.espeak", "synthesised on this machine by Debian's espeak-ng")
    return False, say(
        "speech.no_espeak", "spoken words are synthesised by espeak-ng: install it (`sudo apt install espeak-ng`)"
    )


def load_speech(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(clips int16 (N, CLIP_SAMPLES), labels int64 (N,)) of a speech set, built once and cached."""
    spec = SPEECH_SETS[name]
    file = cache_file(spec)
    try:
        with np.load(file) as cached:
            return cached["clips"], cached["labels"]
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        pass  # not built yet, or damaged: build it again
    clips, labels = build_speech(spec)
    file.parent.mkdir(parents=True, exist_ok=True)
    partial = file.with_name(f"{file.stem}.{np.random.default_rng().integers(1 << 30)}.partial.npz")
    np.savez(partial, clips=clips, labels=labels)
    partial.replace(file)  # whole or not at all
    return clips, labels


def cache_file(spec: SpeechSet) -> Path:
    digest = hashlib.sha256(repr((spec, BUILD_VERSION)).encode()).hexdigest()[:12]
    return settings.current().data_dir / "speech" / f"{spec.name}-{digest}.npz"


@dataclass(frozen=True)
class Utterance:
    word: str
    voice: str  # accent+variant
    speed: int  # words per minute
    pitch: int  # 0..99
    offset: float  # where the word sits in its second
    snr_db: float  # the word's loudness over the noise
    rumble: float  # the share of the noise that is low rumble rather than hiss
    noise_seed: int


def utterances(spec: SpeechSet) -> list[Utterance]:
    """Every clip of a set, drawn from a seed of its own name: the same list on every machine."""
    rng = np.random.default_rng(int(hashlib.sha256(spec.name.encode()).hexdigest()[:8], 16))
    voices = [f"{accent}+{variant}" for accent in spec.accents for variant in spec.variants]
    out = []
    for word in spec.words:
        for i in range(spec.clips_per_word):
            out.append(Utterance(word, voices[i % len(voices)], int(rng.integers(120, 200)), int(rng.integers(20, 80)),
                                 float(rng.uniform(0.1, 0.9)), float(rng.uniform(5, 25)), float(rng.uniform()),
                                 int(rng.integers(1 << 31))))  # fmt: skip
    return out


def build_speech(spec: SpeechSet) -> tuple[np.ndarray, np.ndarray]:
    ok, why = espeak_available()
    if not ok:
        raise DatasetUnavailable(say("data.missing_lists", "{problems}.", problems=why))
    said = utterances(spec)
    with tempfile.TemporaryDirectory() as folder, ThreadPoolExecutor(4) as pool:
        clips = list(pool.map(lambda pair: synthesise(pair[1], Path(folder) / f"{pair[0]}.wav"), enumerate(said)))
    labels = np.asarray([spec.words.index(u.word) for u in said], dtype=np.int64)
    return np.stack(clips), labels


def synthesise(utterance: Utterance, wav: Path) -> np.ndarray:
    """One utterance as a fitted int16 clip with its noise mixed in."""
    import soundfile

    command = [ESPEAK, "-v", utterance.voice, "-s", str(utterance.speed), "-p", str(utterance.pitch)]
    subprocess.run([*command, "-w", str(wav), utterance.word], check=True, capture_output=True, timeout=30)
    audio, rate = soundfile.read(wav, dtype="float32")
    clip = fit_clip(audio, rate, utterance.offset).astype(np.float32) / 32768
    return add_noise(clip, utterance)


def add_noise(clip: np.ndarray, utterance: Utterance) -> np.ndarray:
    rng = np.random.default_rng(utterance.noise_seed)
    hiss = rng.standard_normal(len(clip)).astype(np.float32)
    rumble = np.cumsum(rng.standard_normal(len(clip))).astype(np.float32)  # brown noise: mostly low tones
    rumble -= np.convolve(rumble, np.ones(401) / 401, mode="same")  # without its slow drift
    noise = (1 - utterance.rumble) * hiss / hiss.std() + utterance.rumble * rumble / max(rumble.std(), 1e-6)
    speech_power = float(np.mean(clip[np.abs(clip) > 0.01] ** 2)) if np.any(np.abs(clip) > 0.01) else 1e-4
    noise *= np.sqrt(speech_power / 10 ** (utterance.snr_db / 10)) / max(float(noise.std()), 1e-6)
    mixed = clip + noise
    mixed *= 0.9 / max(float(np.abs(mixed).max()), 1e-6)
    return np.round(mixed * 32767).astype(np.int16)
