"""Atomic outputs: whole or absent, and readable by whom the user's umask allows."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mgat.data.synthetic import synthesize
from mgat.io import atomic_path, save_npz_atomic, write_json_atomic, write_text_atomic


@pytest.fixture(params=[0o002, 0o022, 0o077], ids=["group-writable", "default", "private"])
def umask(request):
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_files_honour_the_umask(tmp_path: Path, umask: int) -> None:
    """mkstemp alone makes 0600 files, which a group sharing a results folder cannot read."""
    write_text_atomic(tmp_path / "a.txt", "x")
    write_json_atomic(tmp_path / "b.json", {"x": 1})
    save_npz_atomic(tmp_path / "c.npz", x=[1])
    for name in ("a.txt", "b.json", "c.npz"):
        assert mode(tmp_path / name) == 0o666 & ~umask, name


def test_a_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "old" and list(tmp_path.iterdir()) == [target]


def test_synthetic_dataset_folder_honours_the_umask(tmp_path: Path, umask: int) -> None:
    folder = synthesize("market1501", tmp_path, ids=4)
    assert mode(folder) == 0o777 & ~umask
