"""The downloader against a real HTTP server on 127.0.0.1 (never the internet)."""

from __future__ import annotations

import hashlib
import time

import pytest
from local_server import PROXY_VARIABLES, Route, capture, closed_port_url, serve

from convsim.datasets import download as dl
from convsim.datasets.errors import ChecksumError, DatasetError, DownloadError


@pytest.fixture(autouse=True)
def no_proxy_and_online(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CONVSIM_OFFLINE", raising=False)


PAYLOAD = bytes(range(256)) * 40
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


def test_success_writes_verified_file_and_reports(tmp_path):
    console, out = capture()
    with serve({"/f.bin": Route(PAYLOAD)}) as (base, requested):
        path = dl.download(base + "f.bin", tmp_path / "cache" / "f.bin",
                           sha256=DIGEST.upper(), console=console)
    assert path.read_bytes() == PAYLOAD
    assert requested == ["/f.bin"]
    assert f"Downloading data from {base}f.bin" in out.getvalue()
    assert [p.name for p in path.parent.iterdir()] == ["f.bin"]


def test_existing_good_file_is_not_downloaded_again(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(PAYLOAD)
    with serve({"/f.bin": Route(PAYLOAD)}) as (base, requested):
        dl.download(base + "f.bin", target, sha256=DIGEST, console=capture()[0])
    assert requested == []


def test_existing_bad_file_is_replaced(tmp_path):
    target = tmp_path / "f.bin"
    target.write_bytes(b"stale")
    with serve({"/f.bin": Route(PAYLOAD)}) as (base, requested):
        dl.download(base + "f.bin", target, sha256=DIGEST, console=capture()[0])
    assert requested == ["/f.bin"] and target.read_bytes() == PAYLOAD


def test_wrong_checksum_discards_the_file(tmp_path):
    wrong = "0" * 64
    with serve({"/f.bin": Route(PAYLOAD)}) as (base, _):
        with pytest.raises(ChecksumError) as info:
            dl.download(base + "f.bin", tmp_path / "f.bin", sha256=wrong,
                        console=capture()[0])
    message = str(info.value)
    assert base + "f.bin" in message and DIGEST in message and wrong in message
    assert "path=" in message  # says what the user can do
    assert info.value.reason == "checksum" and isinstance(info.value, OSError)
    assert list(tmp_path.iterdir()) == []


def test_http_404(tmp_path):
    with serve({}) as (base, _):
        with pytest.raises(DownloadError, match=r"answered HTTP 404") as info:
            dl.download(base + "missing.gz", tmp_path / "m.gz", console=capture()[0])
    assert info.value.reason == "http" and info.value.url == base + "missing.gz"
    assert "404" in info.value.summary
    assert list(tmp_path.iterdir()) == []


def test_truncated_transfer(tmp_path):
    route = Route(PAYLOAD[:1000], claim=len(PAYLOAD))
    with serve({"/f.bin": route}) as (base, _):
        with pytest.raises(DownloadError, match=r"cut short: received 1,000 bytes "
                           r"of 10,240 announced") as info:
            dl.download(base + "f.bin", tmp_path / "f.bin", console=capture()[0])
    assert info.value.reason == "truncated"
    assert list(tmp_path.iterdir()) == []


def test_server_down_fails_fast(tmp_path):
    url = closed_port_url()
    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"cannot reach 127\.0\.0\.1") as info:
        dl.download(url, tmp_path / "f.gz", console=capture()[0])
    assert time.monotonic() - started < 3
    assert info.value.reason == "network" and url in str(info.value)


def test_unanswered_name_lookup_or_connect_times_out(tmp_path, monkeypatch):
    def hang(*args, **kwargs):
        time.sleep(3)
        raise OSError("late")

    monkeypatch.setattr(dl.socket, "create_connection", hang)
    started = time.monotonic()
    with pytest.raises(DownloadError, match=r"no answer within 0\.2 s"):
        dl.download("http://example.invalid/f.gz", tmp_path / "f.gz",
                    connect_timeout=0.2, console=capture()[0])
    assert time.monotonic() - started < 1.5


def test_stalled_server_hits_read_timeout(tmp_path):
    with serve({"/slow": Route(PAYLOAD, delay=1.5)}) as (base, _):
        started = time.monotonic()
        with pytest.raises(DownloadError) as info:
            dl.download(base + "slow", tmp_path / "s", read_timeout=0.3,
                        console=capture()[0])
        assert time.monotonic() - started < 1.4
    assert info.value.reason == "network"


def test_offline_mode_never_touches_the_network(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVSIM_OFFLINE", "1")
    with serve({"/f.bin": Route(PAYLOAD)}) as (base, requested):
        with pytest.raises(DownloadError, match="CONVSIM_OFFLINE=1") as info:
            dl.download(base + "f.bin", tmp_path / "f.bin", console=capture()[0])
    assert requested == [] and info.value.reason == "offline"
    assert dl.is_offline()


def test_offline_mode_still_returns_a_complete_cached_file(tmp_path, monkeypatch):
    monkeypatch.setenv("CONVSIM_OFFLINE", "true")
    target = tmp_path / "f.bin"
    target.write_bytes(PAYLOAD)
    assert dl.download("http://127.0.0.1:9/f.bin", target, sha256=DIGEST) == target


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        ({"url": "ftp://example.org/f"}, r"`url` must be an http"),
        ({"url": "file:///etc/passwd"}, r"Received: url='file:///etc/passwd'"),
        ({"sha256": "abc"}, r"`sha256` must be a hex SHA-256.*Received: sha256='abc'"),
    ],
)
def test_argument_errors(tmp_path, kwargs, pattern):
    arguments = {"url": "http://127.0.0.1:9/f", "sha256": None, **kwargs}
    with pytest.raises(ValueError, match=pattern):
        dl.download(arguments["url"], tmp_path / "f", sha256=arguments["sha256"])


def test_errors_are_oserrors():
    assert issubclass(DownloadError, DatasetError)
    assert issubclass(DatasetError, OSError)


def test_sha256_of_matches_hashlib(tmp_path):
    path = tmp_path / "x"
    path.write_bytes(PAYLOAD)
    assert dl.sha256_of(path) == DIGEST
