"""Small file helpers: outputs appear whole or not at all."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed onto ``path`` when the block ends
    without error, removed otherwise, so a killed job never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json_atomic(path: str | Path, record: Any) -> None:
    """Write ``record`` as indented JSON, atomically."""
    write_text_atomic(path, json.dumps(record, indent=1) + "\n")


def save_npz_atomic(path: str | Path, **arrays: Any) -> None:
    """``numpy.savez`` (uncompressed) through a temporary file and a rename."""
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **arrays)
