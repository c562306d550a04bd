"""Uploaded datasets: good archives load, hostile ones are refused by name and reason, nothing escapes."""

from pathlib import Path

import numpy as np
import pytest

from tests.archives import (
    class_images,
    folder_member,
    huge_header_png,
    make_zip,
    png_bytes,
    symlink_member,
    zeros_named_png,
)
from transfer_core import settings
from transfer_core.data.uploads import STORED_SIDE, FileRefused, UploadRejected, import_files, import_zip, read_image
from transfer_core.settings import SettingError, UploadLimits

LIMITS = UploadLimits(min_per_class=3)
COLOURS = {"red": (220, 30, 30), "blue": (30, 30, 220)}


def reasons(result) -> dict[str, str]:
    return {r.name: r.reason for r in result.refused}


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")} if folder.exists() else set()


def test_a_zip_of_class_folders_becomes_a_dataset():
    result = import_zip(make_zip(class_images(COLOURS, 4)), LIMITS)
    assert result.dataset.classes == ["blue", "red"]
    assert result.counts == {"blue": 4, "red": 4}
    assert result.refused == []
    red = result.dataset.images[int(np.flatnonzero(result.dataset.labels == 1)[0])]
    assert red.shape == (24, 24, 3) and red[..., 0].mean() > 150


def test_one_shared_top_folder_is_looked_through():
    members = {f"my_photos/{name}": data for name, data in class_images(COLOURS, 3).items()}
    assert import_zip(make_zip(members), LIMITS).dataset.classes == ["blue", "red"]


def test_hostile_members_are_refused_by_name_and_the_rest_is_kept(isolated_home):
    members = class_images(COLOURS, 3) | {
        "../escape.png": png_bytes(),
        "/abs/escape.png": png_bytes(),
        "red/../../escape.png": png_bytes(),
        "red/notes.jpg": b"this is a shopping list, not a photo",
        "red/cut.png": png_bytes(size=64)[:200],
        "red/huge.png": huge_header_png(),
        "red/bomb.png": zeros_named_png(20),
        "red/readme.txt": b"hello",
        "loose.png": png_bytes(),
        "__MACOSX/red/._0.png": b"\0\0",
    }
    before = files_under(isolated_home)
    result = import_zip(make_zip(members, [symlink_member("red/link.png", "/etc/passwd")]), LIMITS)
    why = reasons(result)
    assert result.counts == {"blue": 3, "red": 3}
    assert "outside the archive" in why["../escape.png"] and "outside the archive" in why["red/../../escape.png"]
    assert "absolute path" in why["/abs/escape.png"]
    assert "symbolic link" in why["red/link.png"]
    assert "not an image" in why["red/notes.jpg"]
    assert "truncated" in why["red/cut.png"]
    assert "decompression bomb" in why["red/huge.png"] and "10000000000 pixels" in why["red/huge.png"]
    assert "zip bomb" in why["red/bomb.png"]
    assert "extension .txt" in why["red/readme.txt"]
    assert "class folder" in why["loose.png"]
    assert "system file" in why["__MACOSX/red/._0.png"]
    assert files_under(isolated_home) == before, "importing must write nothing"


def test_an_empty_class_and_a_small_class_are_named_and_dropped():
    members = class_images(COLOURS | {"green": (30, 200, 30)}, 3)
    members = {k: v for k, v in members.items() if not k.startswith("green/") or k.endswith("0.png")}
    result = import_zip(make_zip(members, [folder_member("empty")]), LIMITS)
    why = reasons(result)
    assert result.dataset.classes == ["blue", "red"]
    assert "only 0 images" in why["empty/"] and "only 1 image;" in why["green/"]


@pytest.mark.parametrize(
    "limits, members, message",
    [
        (UploadLimits(members=5), class_images(COLOURS, 3), "6 entries; the limit is 5"),
        (UploadLimits(unpacked_mb=1), {"red/a.png": bytes(2 * 1024 * 1024)}, "unpacks to 2 MB; the limit is 1 MB"),
        (LIMITS, class_images({"red": (200, 0, 0)}, 5), "at least two classes"),
    ],
)
def test_whole_archive_limits_reject_the_upload(limits, members, message):
    with pytest.raises(UploadRejected, match=message):
        import_zip(make_zip(members), limits)


def test_something_that_is_not_a_zip_is_rejected_with_advice():
    with pytest.raises(UploadRejected, match="not a readable zip"):
        import_zip(b"PK\x03\x04 certainly not a zip", LIMITS)


def test_an_upload_over_the_size_limit_is_rejected_before_opening():
    with pytest.raises(UploadRejected, match="limit is 1 MB"):
        import_zip(bytes(2 * 1024 * 1024), UploadLimits(upload_mb=1))


def test_large_photos_are_kept_small_and_too_many_pixels_are_refused():
    big = read_image(png_bytes(size=1000), LIMITS)
    assert max(big.shape[:2]) == STORED_SIDE
    with pytest.raises(FileRefused, match="more than the limit of 10,000"):
        read_image(png_bytes(size=101), UploadLimits(pixels=10_000))


def test_image_files_grouped_by_class_become_a_dataset():
    files = {name: [(f"{i}.png", png_bytes(colour, seed=i)) for i in range(3)] for name, colour in COLOURS.items()}
    files["red"].append(("broken.png", b"not a png"))
    result = import_files(files, LIMITS)
    assert result.counts == {"blue": 3, "red": 3}
    assert [r.name for r in result.refused] == ["broken.png"]


def test_limits_come_from_the_environment_and_bad_values_say_what_to_do(monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_MAX_ZIP_MEMBERS", "12")
    assert settings.current().uploads.members == 12
    monkeypatch.setenv("TRANSFER_LAB_MAX_UPLOAD_MB", "lots")
    with pytest.raises(SettingError, match="TRANSFER_LAB_MAX_UPLOAD_MB='lots' must be a positive whole number"):
        settings.current()


def test_the_data_and_run_folders_follow_their_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFER_LAB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TRANSFER_LAB_DATA", raising=False)
    assert (settings.current().data_dir, settings.current().runs_dir) == (
        tmp_path / "home" / "data",
        tmp_path / "home" / "runs",
    )
    monkeypatch.setenv("TRANSFER_LAB_DATA", str(tmp_path / "elsewhere"))
    assert (
        settings.current().data_dir == tmp_path / "elsewhere"
        and settings.current().runs_dir == tmp_path / "home" / "runs"
    )
