"""The My data page through AppTest: uploads, hostile archives, webcam shots, and one session's data
kept from another's."""

import io

import numpy as np
import pytest
from PIL import Image

from tests.apptest import TINY, config_of, open_app
from tests.archives import class_images, make_zip, png_bytes, symlink_member
from tests.shown import shown
from transfer_core.config import TrainConfig
from transfer_core.data import user_data
from transfer_core.data.downloads import Remote

pytestmark = pytest.mark.usefixtures("fresh_runner")  # each test opens the app with a runner of its own


COLOURS = {"red": (220, 30, 30), "blue": (30, 30, 220)}


def button(at, label: str, key_start: str = ""):
    return next(b for b in at.button if shown(b.label) == label and (b.key or "").startswith(key_start))


def jpeg(colour) -> bytes:
    out = io.BytesIO()
    Image.fromarray(np.full((48, 64, 3), colour, np.uint8)).save(out, format="JPEG")
    return out.getvalue()


def test_a_partly_bad_zip_is_kept_with_its_refusals_listed_and_trains_from_the_data_page():
    at = open_app("app_pages/my_data.py")
    members = class_images(COLOURS, 8) | {"red/../../../tmp/escape.png": png_bytes(), "blue/notes.png": b"hi"}
    at.file_uploader[0].set_value(("colours.zip", make_zip(members, [symlink_member("red/l.png", "/")]), "x")).run()
    assert not at.exception
    assert any("16 images in 2 classes accepted; 3 files refused" in shown(w.value) for w in at.warning)
    refused = at.dataframe[0].value
    assert set(refused["file"]) == {"red/../../../tmp/escape.png", "blue/notes.png", "red/l.png"}
    assert at.text_input(key="zip_name").value == "colours"
    button(at, "Keep as my dataset", "zip").click().run()
    assert any("Kept “colours”" in s.value for s in at.success)
    button(at, "Train on “colours”").click().run()
    assert not at.exception
    config = config_of(at)
    assert (config.dataset, config.train_per_class, config.val_per_class) == ("mine:colours", 6, 2)
    assert at.selectbox[0].value == "mine:colours"
    assert any("2 classes, 12 training and 4 validation images" in h.value for h in at.subheader)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"this is not a zip", "not a readable zip"),
        (make_zip({"red/a.png": png_bytes(), "../b.png": png_bytes()}), "at least two classes"),
    ],
)
def test_a_refused_zip_says_why_and_the_app_keeps_serving(content, message):
    at = open_app("app_pages/my_data.py")
    at.file_uploader[0].set_value(("bad.zip", content, "application/zip")).run()
    assert not at.exception
    assert any(message in e.value for e in at.error)
    at.switch_page("app_pages/data.py").run()
    assert not at.exception and at.selectbox[0].value == "fashion_mnist"


def test_webcam_shots_fill_classes_can_be_removed_and_become_a_dataset(monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_MIN_IMAGES_PER_CLASS", "2")
    at = open_app("app_pages/my_data.py")
    for name in ("cup", "pen"):
        at.text_input(key="webcam_new_class").set_value(name)
        button(at, "Add class").click().run()
    for target, colour, shots in (("cup", (250, 250, 250), 3), ("pen", (10, 10, 10), 2)):
        at.radio(key="webcam_target").set_value(target).run()
        for i in range(shots):
            at.camera_input[0].set_value((f"shot{i}.jpg", jpeg(colour), "image/jpeg")).run()
    assert not at.exception
    counts = [m.value for m in at.markdown if "shots" in m.value and m.value.startswith("**")]
    assert counts == ["**cup** — 3 shots", "**pen** — 2 shots"]
    button(at, "", "drop_cup_0").click().run()
    assert "**cup** — 2 shots" in [m.value for m in at.markdown]
    at.text_input(key="webcam_name").set_value("desk")
    button(at, "Keep as my dataset", "webcam").click().run()
    kept = user_data.load_dataset(at.session_state["owner"], "desk")
    assert kept.classes == ["cup", "pen"] and np.bincount(kept.labels).tolist() == [2, 2]
    assert kept.images[0].mean() > 200 and kept.images[-1].mean() < 50


def test_one_sessions_dataset_is_not_offered_to_another():
    alice = open_app("app_pages/my_data.py")
    alice.file_uploader[0].set_value(("colours.zip", make_zip(class_images(COLOURS, 6)), "x")).run()
    button(alice, "Keep as my dataset", "zip").click().run()
    alice.switch_page("app_pages/data.py").run()
    assert "Mine: colours" in alice.selectbox[0].options  # options are shown as labelled
    bob = open_app("app_pages/data.py")
    assert not any(option.startswith("Mine:") for option in bob.selectbox[0].options)
    link = open_app("app_pages/data.py", config=config_of(alice).replace(dataset="mine:colours"))
    assert any("this session has no dataset 'mine:colours'" in shown(e.value) for e in link.error)


# --- weights on the Backbone and Transfer pages -------------------------------------------------


def weights_upload(at):
    return next(u for u in at.file_uploader if u.label.startswith("Weights for"))


def test_a_malicious_checkpoint_is_refused_on_the_backbone_page_and_runs_nothing(tmp_path):
    from tests.archives import RunsCode
    from tests.test_user_data import pth_bytes

    marker = tmp_path / "pwned"
    at = open_app("app_pages/backbone.py")
    weights_upload(at).set_value(("evil.pth", pth_bytes({"x": RunsCode(str(marker))}), "x")).run()
    assert not at.exception and not marker.exists()
    assert any("evil.pth" in shown(e.value) and "would run code" in e.value for e in at.error)


def test_uploaded_weights_are_kept_and_offered_as_a_start_on_the_transfer_page():
    from safetensors.torch import save

    from tests.test_user_data import small_cnn_state

    at = open_app("app_pages/backbone.py", config=TINY)
    data = save({k: v.contiguous() for k, v in small_cnn_state().items()})
    weights_upload(at).set_value(("digits-net.safetensors", data, "x")).run()
    assert any("fits small_cnn: 48 tensors" in shown(s.value) for s in at.success)
    button(at, "Keep these weights").click().run()
    assert user_data.saved_weights(at.session_state["owner"]) == {"digits-net": "small_cnn"}
    button(at, "Train from these").click().run()
    assert config_of(at).weights == "mine:digits-net" and config_of(at).strategy == "copy"
    at.switch_page("app_pages/transfer.py").run()
    start = next(r for r in at.radio if r.label == "Start from")
    assert start.value == "mine:digits-net" and "my weights: digits-net" in map(shown, start.options)


# --- downloads with progress --------------------------------------------------------------------


def test_the_data_page_downloads_a_missing_dataset_into_the_data_folder(monkeypatch, tmp_path):
    import tarfile

    from tests.test_downloads import serve
    from transfer_core import settings
    from transfer_core.data import downloads

    monkeypatch.delenv("TRANSFER_LAB_OFFLINE")
    served = tmp_path / "served"
    (tmp_path / "cifar-10-batches-py").mkdir()
    (tmp_path / "cifar-10-batches-py" / "batches.meta").write_bytes(b"planted")
    served.mkdir()
    with tarfile.open(served / "cifar.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    with serve(served) as url:
        target = settings.current().data_dir / "cifar.tar.gz"
        monkeypatch.setattr(
            downloads, "dataset_files", lambda name: [Remote(f"{url}/cifar.tar.gz", target, unpack_to=target.parent)]
        )
        at = open_app("app_pages/data.py", config=TrainConfig(dataset="cifar10"))
        assert any("not downloaded yet" in e.value for e in at.error)
        button(at, "Download CIFAR-10 now").click().run()
    assert not at.exception
    assert (settings.current().data_dir / "cifar-10-batches-py" / "batches.meta").read_bytes() == b"planted"
    assert "Source: downloaded earlier" in "".join(c.value for c in at.caption)  # the page now reads it
    assert not any(b.label == "Download CIFAR-10 now" for b in at.button)


def test_the_backbone_page_downloads_torchvision_weights_and_then_predicts(monkeypatch, tmp_path):
    import torch

    from tests.test_downloads import serve
    from transfer_core.models.backbones import get_spec
    from transfer_core.models.weights import torchvision_cache_path

    monkeypatch.delenv("TRANSFER_LAB_OFFLINE")
    served = tmp_path / "served"
    served.mkdir()
    torch.save(get_spec("resnet18").build_raw().state_dict(), served / "resnet18.pth")
    with serve(served) as url:
        remote = Remote(f"{url}/resnet18.pth", torchvision_cache_path("resnet18"))
        monkeypatch.setattr("ui.own_weights.weights_file", lambda name: remote)
        at = open_app("app_pages/backbone.py", config=TrainConfig(backbone="resnet18"))
        assert any("torch cache" in w.value for w in at.warning)
        button(at, "Download the ImageNet weights now").click().run()
    assert not at.exception
    assert torchvision_cache_path("resnet18").exists()
    assert any("Pretrained weights available" in s.value for s in at.success)


def test_a_failed_download_says_why_and_leaves_no_progress_bar(monkeypatch, tmp_path):
    from tests.test_downloads import serve
    from transfer_core import settings
    from transfer_core.data import downloads

    monkeypatch.delenv("TRANSFER_LAB_OFFLINE")
    (tmp_path / "empty").mkdir()
    with serve(tmp_path / "empty") as url:  # the file is not there: the server answers 404
        target = settings.current().data_dir / "cifar.tar.gz"
        monkeypatch.setattr(downloads, "dataset_files", lambda name: [Remote(f"{url}/cifar.tar.gz", target)])
        at = open_app("app_pages/data.py", config=TrainConfig(dataset="cifar10"))
        button(at, "Download CIFAR-10 now").click().run()
    assert not at.exception
    assert len(at.error) >= 2  # "not downloaded yet", and why the download failed
    assert not [p for p in at.get("progress") if "download" in p.proto.text.lower()]
