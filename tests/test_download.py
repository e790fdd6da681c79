"""Tests for mgat.data.download: downloads from a local HTTP server, checked, never half-kept."""

from __future__ import annotations

import hashlib
import socket
import threading
from pathlib import Path

import pytest

from mgat.data.download import download
from mgat.errors import DataError
from tests.helpers import HttpServer, closed_port_url

ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def _one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


PAYLOAD = bytes(range(256)) * 5000  # ~1.3 MB, more than one read chunk
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


def test_download_success(server: HttpServer, tmp_path: Path) -> None:
    (server.root / "data.bin").write_bytes(PAYLOAD)
    dest = tmp_path / "out" / "sub" / "data.bin"
    result = download(server.url("data.bin"), dest, sha256=PAYLOAD_SHA.upper(), progress=False)
    assert result == dest
    assert dest.read_bytes() == PAYLOAD
    assert not dest.with_name("data.bin.part").exists()


def test_download_404_leaves_nothing(server: HttpServer, tmp_path: Path) -> None:
    dest = tmp_path / "data.bin"
    url = server.url("missing.bin")
    with pytest.raises(DataError) as err:
        download(url, dest, progress=False)
    text = _one_line(err)
    assert url in text and "404" in text and str(dest) in text
    assert list(tmp_path.iterdir()) == [server.root]


def test_download_checksum_mismatch_leaves_nothing(server: HttpServer, tmp_path: Path) -> None:
    (server.root / "data.bin").write_bytes(PAYLOAD)
    dest = tmp_path / "data.bin"
    with pytest.raises(DataError) as err:
        download(server.url("data.bin"), dest, sha256=ABC_SHA256, progress=False)
    text = _one_line(err)
    assert ABC_SHA256 in text and PAYLOAD_SHA in text
    assert list(tmp_path.iterdir()) == [server.root]


def test_download_connection_refused(tmp_path: Path) -> None:
    dest = tmp_path / "data.bin"
    with pytest.raises(DataError) as err:
        download(closed_port_url("x"), dest, progress=False, timeout=5)
    assert "download failed" in _one_line(err)
    assert list(tmp_path.iterdir()) == []


def test_download_skips_existing_file(server: HttpServer, tmp_path: Path) -> None:
    (server.root / "data.bin").write_bytes(PAYLOAD)
    dest = tmp_path / "data.bin"
    dest.write_bytes(PAYLOAD)
    download(server.url("data.bin"), dest, sha256=PAYLOAD_SHA, progress=False)
    download(server.url("data.bin"), dest, progress=False)  # no checksum: trust what is there
    assert server.requests == []


def test_download_replaces_existing_file_with_wrong_checksum(
    server: HttpServer, tmp_path: Path
) -> None:
    (server.root / "data.bin").write_bytes(PAYLOAD)
    dest = tmp_path / "data.bin"
    dest.write_bytes(b"stale")
    download(server.url("data.bin"), dest, sha256=PAYLOAD_SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert server.requests == ["/data.bin"]


def test_download_shorter_than_announced_leaves_nothing(tmp_path: Path) -> None:
    """A connection dropped mid-body: urllib reads the short body without complaint."""
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def answer() -> None:
            conn, _ = listener.accept()
            with conn:
                conn.recv(65536)
                conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/data.bin"
        with pytest.raises(DataError) as err:
            download(url, tmp_path / "data.bin", progress=False, timeout=5)
        thread.join(timeout=5)
    assert "got 10 of 100 bytes" in _one_line(err) and url in _one_line(err)
    assert list(tmp_path.iterdir()) == []
