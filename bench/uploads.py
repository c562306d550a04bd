"""Upload benchmarks; prints figures, passes or fails nothing.

How long checking a zip of photos takes, how much memory the kept dataset holds, and how long a
hostile archive (zip bomb members, a huge-pixel header) takes to refuse.

    .venv/bin/python -m bench.uploads
"""

import io
import time
import zipfile

import numpy as np
from PIL import Image

from tests.archives import huge_header_png, make_zip, zeros_named_png
from transfer_core.data.session_memory import dataset_bytes
from transfer_core.data.uploads import import_zip
from transfer_core.settings import UploadLimits


def photo_zip(classes: int, per_class: int, side: int) -> bytes:
    """JPEG 'photos' of random texture, side x side pixels, in class folders."""
    rng = np.random.default_rng(0)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for c in range(classes):
            for i in range(per_class):
                pixels = rng.integers(0, 255, (side // 8, side // 8, 3), dtype=np.uint8)
                photo = Image.fromarray(pixels).resize((side, side))
                data = io.BytesIO()
                photo.save(data, format="JPEG", quality=85)
                archive.writestr(f"class{c}/{i}.jpg", data.getvalue())
    return out.getvalue()


def timed_import(label: str, data: bytes) -> None:
    start = time.perf_counter()
    result = import_zip(data, UploadLimits())
    seconds = time.perf_counter() - start
    images = sum(result.counts.values())
    print(
        f"{label}: {len(data) / 1e6:.1f} MB zip, {images} images kept, {len(result.refused)} refused, "
        f"{seconds:.2f} s ({images / seconds:.0f} images/s), held {dataset_bytes(result.dataset) / 1e6:.1f} MB"
    )


def main() -> None:
    for side, per_class in ((256, 100), (1024, 40), (3000, 10)):
        timed_import(f"4 classes x {per_class} JPEGs of {side} px", photo_zip(4, per_class, side))
    hostile = {f"c{c}/{i}.png": zeros_named_png(50) for c in range(2) for i in range(2)}
    hostile |= {f"c{c}/huge{i}.png": huge_header_png() for c in range(2) for i in range(5)}
    hostile |= {f"c{c}/ok{i}.jpg": _small_jpeg() for c in range(2) for i in range(5)}
    timed_import("hostile: 4 x 50 MB zero members, 10 huge-pixel headers, 10 good images", make_zip(hostile))


def _small_jpeg() -> bytes:
    data = io.BytesIO()
    Image.new("RGB", (64, 64), (120, 30, 200)).save(data, format="JPEG")
    return data.getvalue()


if __name__ == "__main__":
    main()
