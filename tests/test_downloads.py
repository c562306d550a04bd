"""Downloads: progress reported, checksums checked, nothing half-written left behind, offline refused.
A local HTTP server stands in for the internet."""

import gzip
import hashlib
import http.server
import threading
from contextlib import contextmanager
from functools import partial

import pytest

from transfer_core.data import downloads
from transfer_core.data.downloads import DownloadFailed, Remote, fetch


@contextmanager
def serve(folder):
    """An HTTP server on localhost serving `folder`; yields its base URL."""
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


@pytest.fixture
def server(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    with serve(served) as url:
        yield served, url


@pytest.fixture
def online(monkeypatch):
    monkeypatch.delenv("TRANSFER_LAB_OFFLINE")


def test_a_download_reports_progress_checks_md5_and_unpacks(server, online, tmp_path):
    served, url = server
    payload = bytes(range(256)) * 2000
    (served / "labels.gz").write_bytes(gzip.compress(payload))
    target = tmp_path / "data" / "labels.gz"
    md5 = hashlib.md5((served / "labels.gz").read_bytes()).hexdigest()
    seen = []
    fetch([Remote(f"{url}/labels.gz", target, md5=md5, unpack_to=target.parent)], lambda *p: seen.append(p))
    assert (tmp_path / "data" / "labels").read_bytes() == payload
    assert seen[-1] == ("labels.gz", target.stat().st_size, target.stat().st_size)
    assert [done for _, done, _ in seen] == sorted(done for _, done, _ in seen)


def test_a_damaged_download_is_refused_and_leaves_nothing(server, online, tmp_path):
    served, url = server
    (served / "resnet18-abcdef12.pth").write_bytes(b"not what was published")
    target = tmp_path / "cache" / "resnet18-abcdef12.pth"
    with pytest.raises(DownloadFailed, match="checksum does not match"):
        fetch([Remote(f"{url}/resnet18-abcdef12.pth", target, sha256_prefix="abcdef12")])
    assert list(target.parent.iterdir()) == []


def test_a_missing_file_says_to_check_the_connection(server, online, tmp_path):
    _, url = server
    with pytest.raises(DownloadFailed, match="check the connection"):
        fetch([Remote(f"{url}/nothing.gz", tmp_path / "nothing.gz")])


def test_offline_nothing_is_fetched():
    with pytest.raises(DownloadFailed, match="switched off"):
        fetch(downloads.dataset_files("cifar10"))


def test_torchvision_weights_go_where_torchvision_reads_them():
    from transfer_core.models.weights import torchvision_cache_path

    remote = downloads.weights_file("resnet18")
    assert remote.target == torchvision_cache_path("resnet18") and remote.sha256_prefix == "f37072fd"
    assert [r.target.name for r in downloads.dataset_files("fashion_mnist")][0] == "train-images-idx3-ubyte.gz"


def test_weights_whose_sha256_matches_their_name_are_kept(server, online, tmp_path):
    served, url = server
    data = b"weights" * 1000
    name = f"tiny-{hashlib.sha256(data).hexdigest()[:8]}.pth"
    (served / name).write_bytes(data)
    fetch([Remote(f"{url}/{name}", tmp_path / name, sha256_prefix=name[5:13])])
    assert (tmp_path / name).read_bytes() == data
