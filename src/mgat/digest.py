"""SHA-256 of files: what provenance records, readers report and downloads are checked against.

Standard library only, so that every module (torch-free ones included) can import it.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from mgat.errors import ConfigError, DataError

__all__ = ["normalise_sha256", "sha256_file", "verify_sha256"]

_HEX64 = re.compile(r"[0-9a-f]{64}")


def sha256_file(path: str | Path) -> str:
    """Return the SHA-256 hex digest of the file at ``path``."""
    try:
        with open(path, "rb") as handle:
            return hashlib.file_digest(handle, "sha256").hexdigest()
    except FileNotFoundError:
        raise DataError(f"{path}: file not found; download it first") from None
    except IsADirectoryError:
        raise DataError(
            f"{path}: is a folder, expected a file; remove it or fix the path"
        ) from None


def normalise_sha256(expected: str) -> str:
    """A checksum from the config as lower-case hex; anything else is refused before any work."""
    value = expected.strip().lower()
    if not _HEX64.fullmatch(value):
        raise ConfigError(
            f"expected SHA-256 {expected!r} is not a 64-character hex digest; fix it in the config"
        )
    return value


def verify_sha256(path: str | Path, expected: str | None) -> str:
    """Return the SHA-256 digest of ``path``; raise :class:`DataError` if it differs from
    ``expected`` (hex, case-insensitive). ``expected=None`` only computes the digest."""
    want = None if expected is None else normalise_sha256(expected)
    actual = sha256_file(path)
    if want is not None and actual != want:
        raise DataError(
            f"{path}: SHA-256 is {actual} but {want} was expected; the file is corrupt or "
            "incomplete, so delete it and download it again (or fix the checksum in the config "
            "if the file is known to be good)"
        )
    return actual
