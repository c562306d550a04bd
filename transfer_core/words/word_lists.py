"""Words labelled by language, from Debian's word lists, as token sequences a recurrent network reads.

What a word is here: an entry of the list, lower-cased, made only of letters (entries with
apostrophes, hyphens, digits or dots are left out), 2 to MAX_LETTERS letters long, and not a proper
name (entries that start with a capital). Accents are kept, not folded: "ã", "ø" and "ł" are among the
strongest clues to a language, and folding them would leave a lesson about the network, not the data.
A letter outside ALPHABET (rare: Greek or Cyrillic in a loan word) reads as the unknown token.

Tokens: 0 pads (on the left, so a word's last letter is always the last step and the final hidden
state is the word's), 1 is an unknown letter, then ALPHABET in order.
"""

from functools import lru_cache
from pathlib import Path

import numpy as np

from transfer_core.messages import say, say_word

DICT_DIR = Path("/usr/share/dict")
MAX_LETTERS = 16
ALPHABET = "abcdefghijklmnopqrstuvwxyz" + "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿœß" + "ąćęłńśźż"
PAD, UNKNOWN = 0, 1
VOCABULARY = len(ALPHABET) + 2
CANDIDATES = 20_000  # words kept per language: evenly spread over the list, so every initial letter shows

# language -> (Debian package, file under /usr/share/dict, its encoding)
LANGUAGES = {
    "English": ("wamerican", "american-english", "utf-8"),
    "German": ("wngerman", "ngerman", "utf-8"),
    "French": ("wfrench", "french", "utf-8"),
    "Spanish": ("wspanish", "spanish", "utf-8"),
    "Italian": ("witalian", "italian", "utf-8"),
    "Dutch": ("wdutch", "dutch", "utf-8"),
    "Portuguese": ("wportuguese", "portuguese", "utf-8"),
    "Catalan": ("wcatalan", "catalan", "utf-8"),
    "Swedish": ("wswedish", "swedish", "iso-8859-1"),
    "Danish": ("wdanish", "danish", "utf-8"),
    "Polish": ("wpolish", "polish", "utf-8"),
}
DEBIAN_PACKAGES = tuple(package for package, _, _ in LANGUAGES.values())

_INDEX = {letter: i + 2 for i, letter in enumerate(ALPHABET)}


def is_word(entry: str) -> bool:
    return 2 <= len(entry) <= MAX_LETTERS and entry.isalpha() and not entry[0].isupper()


def encode(word: str) -> np.ndarray:
    """int64 (MAX_LETTERS,): the word's letters' tokens, padded on the left."""
    letters = [_INDEX.get(letter, UNKNOWN) for letter in word.lower()[:MAX_LETTERS]]
    return np.array([PAD] * (MAX_LETTERS - len(letters)) + letters, dtype=np.int64)


def decode(tokens: np.ndarray) -> str:
    return "".join(ALPHABET[t - 2] if t >= 2 else "?" for t in tokens if t != PAD)


def word_list_available(language: str) -> tuple[bool, str]:
    package, file, _ = LANGUAGES[language]
    if (DICT_DIR / file).exists():
        return True, say("words.debian_package", "Debian package {package}", package=package)
    sentence = "the {language} word list is not on this machine: install Debian's package {package}"
    return False, say("words.list_missing", sentence, language=say_word(language), package=package)


@lru_cache(maxsize=len(LANGUAGES))
def language_words(language: str) -> tuple[str, ...]:
    """Up to CANDIDATES distinct words of the language, read once per process. The list is streamed
    and thinned evenly (Polish's is 60 MB: never held whole)."""
    _, file, encoding = LANGUAGES[language]
    path = DICT_DIR / file
    with open(path, encoding=encoding, errors="replace") as f:
        total = sum(1 for _ in f)
    stride = max(1, total // (CANDIDATES * 3))  # entries that are no words are thrown away below
    words, seen = [], set()
    with open(path, encoding=encoding, errors="replace") as f:
        for number, line in enumerate(f):
            entry = line.strip().split("/")[0]  # some lists carry affix flags after a slash
            if number % stride or not is_word(entry) or entry.lower() in seen:
                continue
            seen.add(entry.lower())
            words.append(entry.lower())
    rng = np.random.default_rng(0)
    keep = sorted(rng.permutation(len(words))[:CANDIDATES])
    return tuple(words[i] for i in keep)
