"""What a sentence encoder sees: sentences close in meaning lie close together. A typed sentence's nearest
WordNet definitions, by the cosine of their MiniLM embeddings, and the encoder's speed on this machine."""

import functools
import threading
import time
from dataclasses import dataclass

import torch

from transfer_core.models.backbones import StagedBackbone, build_backbone
from transfer_core.text import minilm
from transfer_core.text.definitions import definitions_by_kind

PER_KIND = 150  # definitions a kind contributes to the neighbourhood: 1,200 sentences, encoded once


@torch.no_grad()
def encode(encoder: StagedBackbone, texts: list[str], batch: int = 64, progress=None) -> torch.Tensor:
    """(N, 384) unit-length sentence embeddings; `progress(done, total)` after each batch."""
    encoder.eval()
    chunks = []
    for start in range(0, len(texts), batch):
        tokens = minilm.tokenize(texts[start : start + batch])
        longest = max(1, int((tokens != 0).sum(dim=1).max()))  # padding past the longest sentence changes nothing
        chunks.append(encoder.forward_features(tokens[:, :longest]))
        if progress:
            progress(min(start + batch, len(texts)), len(texts))
    return torch.cat(chunks) if chunks else torch.zeros(0, minilm.HIDDEN)


@dataclass(frozen=True)
class Neighbourhood:
    texts: list[str]
    kinds: list[str]
    embeddings: torch.Tensor
    sentences_per_second: float


def neighbourhood(progress=None) -> Neighbourhood:
    """The first PER_KIND definitions of every kind, encoded by the pretrained MiniLM."""
    texts, kinds = [], []
    for kind, entries in definitions_by_kind().items():
        texts += entries[:PER_KIND]
        kinds += [kind] * len(entries[:PER_KIND])
    encoder = build_backbone_once()
    started = time.perf_counter()
    embeddings = encode(encoder, texts, progress=progress)
    return Neighbourhood(texts, kinds, embeddings, len(texts) / (time.perf_counter() - started))


def nearest(around: Neighbourhood, sentence: str, count: int = 5) -> list[tuple[str, str, float]]:
    """(definition, kind, cosine) of the `count` definitions nearest to `sentence`."""
    query = encode(build_backbone_once(), [sentence])[0]
    scores = around.embeddings @ query
    best = torch.topk(scores, min(count, len(scores))).indices.tolist()
    return [(around.texts[i], around.kinds[i], float(scores[i])) for i in best]


@torch.no_grad()
def sentence_probabilities(model: torch.nn.Module, sentence: str) -> torch.Tensor:
    """A trained text run's softmax over its classes for one typed sentence."""
    model.eval()
    return torch.softmax(model(minilm.tokenize([sentence])), dim=1)[0]


_SHARED: list[Neighbourhood] = []
_SHARING = threading.Lock()


def shared_neighbourhood(progress=None) -> Neighbourhood:
    """The neighbourhood, encoded by the first page that asks (with its progress bar) and shared by every
    later one in this process: a class encodes the definitions once. Others asking meanwhile wait for it."""
    with _SHARING:
        if not _SHARED:
            _SHARED.append(neighbourhood(progress))
        return _SHARED[0]


@functools.cache
def build_backbone_once() -> StagedBackbone:
    """One pretrained encoder per process for single sentences (building one takes seconds)."""
    return build_backbone("minilm_l6", pretrained=True).eval()
