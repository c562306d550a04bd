import numpy as np
import pytest
import torch
from PIL import Image

from transfer_core.data.preparation import (
    augment_batch,
    augmenter,
    normalize,
    prepare_data,
    split_indices,
    to_image_tensor,
)
from transfer_core.data.registry import FASHION_CLASSES, dataset_available, load_shared
from transfer_core.errors import ConfigError, DatasetUnavailable
from transfer_core.models.backbones import get_spec


def test_digits_are_always_available_offline():
    assert dataset_available("digits")[0]
    raw = load_shared("digits")
    assert raw.images.shape == (1797, 8, 8) and raw.images.dtype == np.uint8 and raw.images.max() == 255
    assert raw.classes == [str(d) for d in range(10)]


def test_fashion_mnist_comes_from_the_debian_package():
    available, source = dataset_available("fashion_mnist")
    assert available and "dataset-fashion-mnist" in source
    raw = load_shared("fashion_mnist")
    assert raw.images.shape == (60000, 28, 28)
    assert np.bincount(raw.labels).tolist() == [6000] * 10
    assert raw.classes == FASHION_CLASSES


def test_cifar10_offline_says_how_to_get_it():
    available, why = dataset_available("cifar10")
    assert not available and "internet" in why
    with pytest.raises(DatasetUnavailable, match="Fashion-MNIST or digits"):
        load_shared("cifar10", allow_download=False)


def test_split_has_the_requested_sizes_no_overlap_and_depends_only_on_the_seed():
    labels = np.repeat(np.arange(3), 50)
    train, val = split_indices(labels, 10, 5, seed=1)
    assert np.bincount(labels[train]).tolist() == [10, 10, 10]
    assert np.bincount(labels[val]).tolist() == [5, 5, 5]
    assert not set(train) & set(val)
    again_train, again_val = split_indices(labels, 10, 5, seed=1)
    assert np.array_equal(train, again_train) and np.array_equal(val, again_val)
    assert not np.array_equal(train, split_indices(labels, 10, 5, seed=2)[0])


def test_split_asking_for_more_than_a_class_has_names_the_limit():
    with pytest.raises(ConfigError, match=r"only 50 images, fewer than the 40 training \+ 20 validation .* 50 or"):
        split_indices(np.repeat(np.arange(2), 50), 40, 20, seed=0)


def test_grey_images_become_three_resized_channels():
    grey = np.arange(2 * 8 * 8, dtype=np.uint8).reshape(2, 8, 8)
    out = to_image_tensor(grey, 16)
    assert out.shape == (2, 3, 16, 16) and out.dtype == torch.uint8
    assert torch.equal(out[:, 0], out[:, 1]) and torch.equal(out[:, 1], out[:, 2])


def test_prepare_data_builds_the_subsample_at_the_backbone_size():
    data = prepare_data(load_shared("fashion_mnist"), 20, 10, 64, seed=0)
    assert data.train_x.shape == (200, 3, 64, 64) and data.val_x.shape == (100, 3, 64, 64)
    assert data.train_y.bincount().tolist() == [20] * 10


def test_normalize_uses_the_backbone_statistics():
    prep = get_spec("resnet18").preprocessing
    batch = torch.full((1, 3, 2, 2), 255, dtype=torch.uint8)
    expected = (1 - torch.tensor(prep.mean)) / torch.tensor(prep.std)
    torch.testing.assert_close(normalize(batch, prep)[0, :, 0, 0], expected)


def test_augmentation_changes_images_but_keeps_their_shape():
    torch.manual_seed(0)
    batch = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    out = augment_batch(batch, augmenter(32))
    assert out.shape == batch.shape and out.dtype == torch.uint8
    assert not torch.equal(out, batch)


def make_folder_dataset(root, classes=("cats", "dogs"), per_class=4, size=(20, 30)):
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            colour = (200 * c, 10 * i, 100)
            Image.new("RGB", size, colour).save(root / name / f"{i}.png")
    return root


def test_a_folder_of_class_subfolders_is_a_dataset(tmp_path):
    root = make_folder_dataset(tmp_path / "pets")
    (root / "cats" / "notes.txt").write_text("not an image, ignored by suffix")
    name = f"folder:{root}"
    assert dataset_available(name)[0]
    data = prepare_data(load_shared(name), 3, 1, 24, seed=0)
    assert data.classes == ["cats", "dogs"]
    assert data.train_x.shape == (6, 3, 24, 24)
    assert data.train_x[data.train_y == 1][:, 0].float().mean() > 150  # dogs are the red ones


def test_a_folder_is_read_afresh_so_a_changed_folder_is_never_served_from_an_old_copy(tmp_path):
    root = make_folder_dataset(tmp_path / "pets")
    before = load_shared(f"folder:{root}")
    (root / "birds").mkdir()
    for i in range(3):
        (root / "birds" / f"{i}.png").write_bytes((root / "cats" / f"{i}.png").read_bytes())
    assert before.classes == ["cats", "dogs"] and load_shared(f"folder:{root}").classes == ["birds", "cats", "dogs"]


def test_a_broken_image_in_a_folder_is_named(tmp_path):
    root = make_folder_dataset(tmp_path / "pets")
    (root / "dogs" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DatasetUnavailable, match="broken.png"):
        load_shared(f"folder:{root}")


def test_a_missing_folder_is_unavailable(tmp_path):
    assert not dataset_available(f"folder:{tmp_path / 'nope'}")[0]
    with pytest.raises(DatasetUnavailable, match="sub-folder"):
        load_shared(f"folder:{tmp_path / 'nope'}")


@pytest.mark.parametrize("kind", ["contrast", "blur", "rotation", "noise"])
def test_shifts_change_images_deterministically_and_keep_their_form(kind):
    from transfer_core.data.preparation import shift_images

    images = prepare_data(load_shared("fashion_mnist"), 2, 1, 32, seed=0).val_x
    shifted = shift_images(images, kind, seed=3)
    assert shifted.shape == images.shape and shifted.dtype == torch.uint8
    assert not torch.equal(shifted, images)
    assert torch.equal(shifted, shift_images(images, kind, seed=3))


def test_no_shift_leaves_images_alone():
    from transfer_core.data.preparation import shift_images

    images = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    assert shift_images(images, "none") is images
