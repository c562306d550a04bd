"""A session's own datasets and weights: kept per owner, trainable like built-in ones, bounded."""

import io
import zipfile
from pathlib import Path

import pytest
import torch
from safetensors.torch import save as save_safetensors

from tests.archives import RunsCode, class_images, make_zip
from tests.waiting import wait_until_finished
from transfer_core import settings
from transfer_core.data import session_memory, user_data
from transfer_core.data.uploads import import_zip
from transfer_core.errors import DatasetUnavailable, TransferLabError, WeightsUnavailable
from transfer_core.models.backbones import get_spec
from transfer_core.models.strategies import build_model
from transfer_core.models.weight_upload import WeightsRefused, check_weights, read_weights_file
from transfer_core.resolve import available, raw_dataset, starting_weights
from transfer_core.settings import UploadLimits
from transfer_core.train import Done, Failed, train

LIMITS = UploadLimits(min_per_class=3)
COLOURS = {"red": (220, 30, 30), "blue": (30, 30, 220)}


@pytest.fixture
def colours():
    return import_zip(make_zip(class_images(COLOURS, 12)), LIMITS).dataset


def test_a_kept_dataset_is_the_owners_alone(colours):
    user_data.keep_dataset("alice", "colours", colours, LIMITS)
    assert raw_dataset("mine:colours", owner="alice").classes == ["blue", "red"]
    assert available("mine:colours", "alice")[0]
    assert not available("mine:colours", "bob")[0]
    with pytest.raises(DatasetUnavailable, match="no dataset named 'colours'"):
        raw_dataset("mine:colours", owner="bob")
    with pytest.raises(DatasetUnavailable, match="belongs to a session"):
        raw_dataset("mine:colours", owner=None)


def test_a_saved_dataset_outlives_the_session_and_stays_in_the_owners_folder(colours, isolated_home):
    user_data.keep_dataset("alice", "colours", colours, LIMITS)
    folder = user_data.save_dataset("alice", "colours", LIMITS)
    assert folder == settings.current().data_dir / "users" / "alice" / "datasets" / "colours"
    assert sorted(p.name for p in folder.iterdir()) == ["blue", "red"]
    session_memory.MEMORY.datasets.clear()  # a server restart
    again = raw_dataset("mine:colours", owner="alice")
    assert again.classes == ["blue", "red"] and len(again.images) == 24
    assert (again.images[0] == colours.images[0]).all(), "PNG keeps every pixel"
    assert user_data.dataset_names("bob") == []
    user_data.delete_dataset("alice", "colours")
    assert user_data.dataset_names("alice") == [] and not folder.exists()


@pytest.mark.parametrize("owner", ["../bob", "a/b", "", "x" * 65])
def test_an_owner_id_cannot_climb_out_of_the_data_folder(owner):
    with pytest.raises(TransferLabError, match="not a valid session id"):
        user_data.owner_dir(owner)


@pytest.mark.parametrize("name", ["../up", ".hidden", "a/b", "", " padded"])
def test_dataset_names_are_plain(name, colours):
    with pytest.raises(TransferLabError, match="use 1 to 40 letters"):
        user_data.keep_dataset("alice", name, colours, LIMITS)


def test_names_in_any_script_are_plain_enough(colours):
    user_data.keep_dataset("alice", "我的数据", colours, LIMITS)
    assert user_data.dataset_names("alice") == ["我的数据"]


def test_session_storage_is_bounded(colours):
    tiny = UploadLimits(session_mb=1)
    user_data.keep_dataset("alice", "one", colours, tiny)  # 24 images of 24 x 24 x 3: 41 kB
    image = colours.images[0]
    with pytest.raises(session_memory.StorageFull, match="limit is 1 MB"):
        for _ in range(1000):
            user_data.add_webcam_shot("alice", "red", image.repeat(4, 0).repeat(4, 1), tiny)
    assert user_data.storage_used("alice") <= tiny.session_bytes
    user_data.add_webcam_shot("bob", "red", image, tiny)  # another session has its own room


def test_a_run_trains_on_the_owners_dataset_and_another_owner_cannot(colours, tiny_config):
    user_data.keep_dataset("alice", "colours", colours, LIMITS)
    config = tiny_config.replace(dataset="mine:colours", train_per_class=8, val_per_class=4, epochs=3, lr=0.01)
    events = list(train(config, owner="alice", record=False))
    assert isinstance(events[-1], Done) and events[-1].metrics.val_acc == 1.0, "red against blue is easy"
    refused = list(train(config, owner="bob", record=False))
    assert isinstance(refused[-1], Failed)
    assert refused[-1].message.startswith("dataset: this session has no dataset named 'colours'"), "names the field"


def test_webcam_shots_are_added_and_removed_per_class(colours):
    for image in colours.images[:3]:
        user_data.add_webcam_shot("alice", "cup", image, LIMITS)
    user_data.add_webcam_class("alice", "pen")
    user_data.remove_webcam_shot("alice", "cup", 1)
    shots = user_data.webcam_shots("alice")
    assert {k: len(v) for k, v in shots.items()} == {"cup": 2, "pen": 0}
    assert (shots["cup"][1] == colours.images[2]).all()
    assert user_data.webcam_shots("bob") == {}


# --- weights ------------------------------------------------------------------------------------


def small_cnn_state() -> dict[str, torch.Tensor]:
    return get_spec("small_cnn").build_raw().state_dict()


def pth_bytes(obj) -> bytes:
    out = io.BytesIO()
    torch.save(obj, out)
    return out.getvalue()


def test_a_checkpoint_that_would_run_code_is_refused_and_runs_nothing(tmp_path):
    marker = tmp_path / "pwned"
    evil = pth_bytes({"conv1.0.weight": torch.zeros(1), "payload": RunsCode(str(marker))})
    with pytest.raises(WeightsRefused, match="would run code"):
        read_weights_file(evil, "evil.pth", LIMITS)
    assert not marker.exists()


def test_a_safetensors_file_with_wrong_shapes_is_refused_naming_the_tensors():
    state = small_cnn_state()
    state["stages.conv2.0.weight"] = torch.zeros(3, 3)
    del state["stages.conv4.1.bias"]
    data = save_safetensors({k: v.contiguous() for k, v in state.items()})
    with pytest.raises(WeightsRefused) as refused:
        check_weights(read_weights_file(data, "mine.safetensors", LIMITS), "small_cnn")
    message = str(refused.value)
    assert "stages.conv2.0.weight: expected (64, 32, 3, 3), got (3, 3)" in message
    assert "1 missing: stages.conv4.1.bias" in message


def test_other_files_are_refused_with_the_formats_to_send():
    with pytest.raises(WeightsRefused, match=r"\.safetensors file \(preferred\)"):
        read_weights_file(b"{}", "weights.json", LIMITS)
    with pytest.raises(WeightsRefused, match="not a readable safetensors"):
        read_weights_file(b"garbage", "w.safetensors", LIMITS)


def test_a_fine_tuned_resnet_with_another_head_fits_and_the_head_is_set_aside():
    raw = get_spec("resnet18").build_raw()
    raw.fc = torch.nn.Linear(512, 10)
    state = {f"module.{k}": v for k, v in raw.state_dict().items()}  # saved from DataParallel
    checked = check_weights(read_weights_file(pth_bytes({"state_dict": state}), "r.pth", LIMITS), "resnet18")
    assert checked.ignored == ["fc.bias", "fc.weight"]
    assert "layer4.1.bn2.weight" in checked.state


def test_uploaded_weights_start_the_owners_runs(tiny_config):
    state = {k: torch.full_like(v, 0.5) if v.is_floating_point() else v for k, v in small_cnn_state().items()}
    checked = check_weights(state, "small_cnn")
    user_data.keep_weights("alice", "halves", "small_cnn", checked.state, LIMITS)
    assert user_data.saved_weights("alice") == {"halves": "small_cnn"}
    config = tiny_config.replace(weights="mine:halves", frozen_stages=2)
    model = build_model(config, 10, starting_weights(config, owner="alice"))
    assert torch.equal(model.stages["conv1"][0].weight, torch.full_like(model.stages["conv1"][0].weight, 0.5))
    with pytest.raises(WeightsUnavailable, match="no weights named 'halves'"):
        starting_weights(config, owner="bob")
    with pytest.raises(WeightsUnavailable, match="fit small_cnn, not resnet18"):
        user_data.load_weights("alice", "halves", "resnet18")
    files = list((settings.current().data_dir / "users" / "alice").rglob("*"))
    assert [p.suffix for p in files if p.is_file()] == [".safetensors"], "no pickle is ever kept"
    assert all(Path(p).is_relative_to(settings.current().data_dir) for p in files)


def test_the_runner_trains_each_run_as_its_owner(colours, tiny_config, tmp_path, closing):
    from transfer_core.runners.runner import Runner
    from transfer_core.store.runs import RunStore

    user_data.keep_dataset("alice", "colours", colours, LIMITS)
    runner = closing(Runner(RunStore(tmp_path / "runs")))
    config = tiny_config.replace(dataset="mine:colours", train_per_class=8, val_per_class=4, epochs=1)
    mine, theirs = runner.submit(config, "alice"), runner.submit(config, "bob")
    for run_id in (mine, theirs):
        wait_until_finished(runner, run_id, timeout=120)
    assert runner.snapshot(mine).status == "done" and runner.snapshot(mine).classes == ["blue", "red"]
    assert runner.snapshot(theirs).status == "failed"
    assert "no dataset named 'colours'" in runner.snapshot(theirs).message


def recompressed(data: bytes) -> bytes:
    """The same PyTorch zip with every member deflated, as a hostile upload would be made."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info), compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def test_a_compressed_weights_file_is_refused_from_its_directory_before_any_tensor_is_read(monkeypatch):
    """1 MB that unpacks to a 1 GiB tensor (the issue's finding): refused by ratio, and torch.load never runs."""
    bomb = recompressed(pth_bytes({"conv1.0.weight": torch.zeros(256 * 1024**2)}))
    assert len(bomb) < 2 * 1024**2
    loads = []
    monkeypatch.setattr(torch, "load", lambda *a, **k: loads.append(a) or {})
    with pytest.raises(WeightsRefused, match=r"compressed \d+ to 1, beyond the limit of 100 to 1"):
        read_weights_file(bomb, "tiny.pth", UploadLimits(unpacked_mb=10**5))
    with pytest.raises(WeightsRefused, match="unpacks to 1074 MB; the limit is 500 MB"):
        read_weights_file(bomb, "tiny.pth", LIMITS)
    assert loads == []


def test_a_weights_file_in_the_old_format_is_refused_with_how_to_save_it_again():
    old = io.BytesIO()
    torch.save(small_cnn_state(), old, _use_new_zipfile_serialization=False)
    with pytest.raises(WeightsRefused, match="not in PyTorch's zip format"):
        read_weights_file(old.getvalue(), "old.pth", LIMITS)


def test_weights_saved_by_torch_save_still_load():
    state = small_cnn_state()
    loaded = read_weights_file(pth_bytes(state), "mine.pth", LIMITS)
    assert all(torch.equal(loaded[k], v) for k, v in state.items())


def test_a_saved_datasets_classes_are_counted_without_reading_its_images(colours, tiny_config, monkeypatch):
    """The runner counts classes at every submit (for the memory budget): a saved copy is not read for it."""
    from transfer_core.data import registry
    from transfer_core.resolve import class_count

    user_data.keep_dataset("alice", "colours", colours, LIMITS)
    user_data.save_dataset("alice", "colours", LIMITS)
    session_memory.MEMORY.datasets.clear()  # only the saved copy is left, as after a restart
    monkeypatch.setattr(registry, "_read_image", lambda file: pytest.fail(f"read {file.name}"))
    assert class_count(tiny_config.replace(dataset="mine:colours"), "alice") == 2
    with pytest.raises(DatasetUnavailable, match="no dataset named 'colours'"):
        class_count(tiny_config.replace(dataset="mine:colours"), "bob")
