"""Archives, images and checkpoints built by the tests themselves: good ones and hostile ones."""

import io
import stat
import struct
import zipfile
import zlib

import numpy as np
from PIL import Image


def png_bytes(color: tuple[int, int, int] = (200, 30, 30), size: int = 24, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = np.clip(np.array(color) + rng.integers(-20, 20, (size, size, 3)), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG")
    return out.getvalue()


def class_images(classes: dict[str, tuple[int, int, int]], per_class: int) -> dict[str, bytes]:
    """{'red/0.png': bytes, ...}: per_class images of one colour per class."""
    return {
        f"{name}/{i}.png": png_bytes(color, seed=i + 100 * k)
        for k, (name, color) in enumerate(classes.items())
        for i in range(per_class)
    }


def make_zip(members: dict[str, bytes], extra: list[tuple[zipfile.ZipInfo, bytes]] = ()) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        for info, data in extra:
            archive.writestr(info, data)
    return out.getvalue()


def symlink_member(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


def folder_member(name: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name.rstrip("/") + "/")
    info.external_attr = (stat.S_IFDIR | 0o755) << 16
    return info, b""


def huge_header_png(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG whose header claims width x height pixels: a decompression bomb's calling card."""
    data = bytearray(png_bytes(size=8))
    ihdr = 8 + 8  # signature, then the IHDR chunk's length and type
    data[ihdr : ihdr + 8] = struct.pack(">II", width, height)
    crc = zlib.crc32(bytes(data[ihdr - 4 : ihdr + 13]))
    data[ihdr + 13 : ihdr + 17] = struct.pack(">I", crc)
    return bytes(data)


def zeros_named_png(megabytes: int) -> bytes:
    """Megabytes of zeros: compresses about a thousand to one."""
    return bytes(megabytes * 1024 * 1024)


class RunsCode:
    """Unpickling this calls a function: what a malicious checkpoint does."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        import pathlib

        return (pathlib.Path.touch, (pathlib.Path(self.marker),))
