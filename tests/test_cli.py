import json
import os
import subprocess
import sys

import pytest
import skimage.data
from PIL import Image

from transfer_core.__main__ import main


def test_backbones_lists_stages_and_offline_weights(capsys):
    assert main(["backbones"]) == 0
    out = capsys.readouterr().out
    assert "efficientnet_lite0" in out and "stem, mbconv1" in out
    assert "pretrained available offline now: yes" in out
    assert "resnet18" in out and "torch cache" in out


def test_datasets_say_what_is_available_offline(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "digits  (scikit-learn digits): available" in out
    assert "cifar10  (CIFAR-10): not available" in out


def test_train_json_prints_one_json_object_with_the_final_metrics(capsys):
    args = ["train", "--dataset", "digits", "--train-per-class", "20", "--val-per-class", "10"]
    args += ["--image-size", "32", "--epochs", "2", "--json"]
    assert main(args) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["epoch"] == 2 and result["config"]["dataset"] == "digits"
    assert f"epoch 2: train acc {result['train_acc']:.3f}  val acc {result['val_acc']:.3f}" in captured.err
    assert result["val_acc"] * 100 == pytest.approx(round(result["val_acc"] * 100)), "a share of 100 images"
    assert result["val_acc"] > 0.25, "after two epochs a linear probe reads digits well above chance (0.1)"


def test_a_second_cli_run_reads_the_frozen_features_the_first_one_stored(capsys):
    """The command line shares the server's feature store: the same probe again costs no feature pass."""
    args = ["train", "--dataset", "digits", "--train-per-class", "20", "--val-per-class", "10", "--image-size", "32"]
    args += ["--epochs", "1", "--json"]
    assert main(args) == 0
    first = capsys.readouterr()
    assert "frozen-prefix features: computed and stored" in first.err
    assert main(args) == 0
    second = capsys.readouterr()
    assert "frozen-prefix features: read from the feature store" in second.err
    assert json.loads(second.out)["val_acc"] == json.loads(first.out)["val_acc"]


def test_train_with_a_bad_value_prints_the_field_and_exits_2(capsys):
    assert main(["train", "--lr", "fast"]) == 2
    assert "error: lr: expected float" in capsys.readouterr().err


def test_train_with_an_unavailable_dataset_prints_advice(capsys):
    assert main(["train", "--dataset", "cifar10"]) == 2
    assert "CIFAR-10 is not downloaded yet" in capsys.readouterr().err


def test_predict_prints_the_top5_imagenet_classes(tmp_path, capsys):
    photo = tmp_path / "cat.jpg"
    Image.fromarray(skimage.data.chelsea()).save(photo)
    assert main(["predict", str(photo)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 5 and "cat" in lines[0]


def test_predict_refuses_a_file_that_is_not_an_image(tmp_path, capsys):
    text = tmp_path / "notes.jpg"
    text.write_text("hello")
    assert main(["predict", str(text)]) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.slow
def test_module_runs_as_a_program():
    result = subprocess.run(
        [sys.executable, "-m", "transfer_core", "datasets"], capture_output=True, text=True, env=os.environ.copy()
    )
    assert result.returncode == 0 and "fashion_mnist" in result.stdout


def test_import_dataset_prints_what_was_accepted_and_refused_and_saves_a_folder(tmp_path, capsys):
    from tests.archives import class_images, make_zip

    members = class_images({"cat": (200, 100, 50), "dog": (50, 100, 200)}, 5) | {"../../evil.png": b"x"}
    archive = tmp_path / "pets.zip"
    archive.write_bytes(make_zip(members))
    assert main(["import-dataset", str(archive), "--save", "pets"]) == 0
    out = capsys.readouterr().out
    assert "accepted  cat: 5 images" in out and "accepted  dog: 5 images" in out
    assert "refused   ../../evil.png: a path with '..'" in out
    folder = out.split("--dataset folder:")[1].strip()
    assert main(["train", "--dataset", f"folder:{folder}", "--backbone", "small_cnn", "--weights", "random",
                 "--train-per-class", "3", "--val-per-class", "2", "--image-size", "32", "--epochs", "1",
                 "--json"]) == 0  # fmt: skip
    final = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert final["config"]["dataset"] == f"folder:{folder}"
    assert final["val_acc"] in (0.0, 0.25, 0.5, 0.75, 1.0), "scored on the 2 x 2 validation images of the saved folder"


def test_import_dataset_rejects_a_bad_zip_with_a_message_not_a_traceback(tmp_path, capsys):
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"not a zip at all")
    assert main(["import-dataset", str(archive)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: this is not a readable zip") and "Traceback" not in err
    assert main(["import-dataset", str(tmp_path / "missing.zip")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_export_prints_a_setup_as_plain_pytorch_and_prepare_names_the_lessons_it_knows(capsys):
    assert main(["export", "--strategy", "lpft", "--probe-epochs", "1"]) == 0
    script = capsys.readouterr().out
    assert "make_optimizer(LR * 0.1)" in script and "if epoch == 1 + 1:" in script
    assert main(["export", "--notebook"]) == 0 and '"nbformat": 4' in capsys.readouterr().out
    assert main(["prepare", "nope"]) == 2
    assert "choose one of why, mapping" in capsys.readouterr().err
