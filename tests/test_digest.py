"""Tests for mgat.digest: the SHA-256 of a file and its check against a configured value."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from mgat.digest import sha256_file, verify_sha256
from mgat.errors import ConfigError, DataError

ABC_SHA256 = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def _one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


def test_sha256_of_known_bytes(tmp_path: Path) -> None:
    path = tmp_path / "abc.bin"
    path.write_bytes(b"abc")
    assert sha256_file(path) == ABC_SHA256


def test_sha256_missing_file_is_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        sha256_file(tmp_path / "nope")


def test_verify_accepts_matching_digest_any_case(tmp_path: Path) -> None:
    path = tmp_path / "abc.bin"
    path.write_bytes(b"abc")
    assert verify_sha256(path, None) == ABC_SHA256
    assert verify_sha256(path, ABC_SHA256.upper()) == ABC_SHA256


def test_verify_mismatch_is_one_line_data_error(tmp_path: Path) -> None:
    path = tmp_path / "abc.bin"
    path.write_bytes(b"abd")
    wrong = hashlib.sha256(b"abd").hexdigest()
    with pytest.raises(DataError) as err:
        verify_sha256(path, ABC_SHA256)
    text = _one_line(err)
    assert str(path) in text and ABC_SHA256 in text and wrong in text
    assert "download it again" in text


def test_verify_malformed_expected_is_config_error(tmp_path: Path) -> None:
    path = tmp_path / "abc.bin"
    path.write_bytes(b"abc")
    with pytest.raises(ConfigError):
        verify_sha256(path, "1234")
