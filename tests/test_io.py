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


def test_an_output_under_a_regular_file_is_one_line(tmp_path: Path) -> None:
    from mgat.errors import OutputError

    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match=r"cannot write .*file/sub/a.txt: ") as err:
        write_text_atomic(tmp_path / "file" / "sub" / "a.txt", "x")
    assert "\n" not in str(err.value)


def test_a_read_only_folder_is_one_line(tmp_path: Path, monkeypatch) -> None:
    """EACCES (simulated: the tests run as root, who may write anywhere) is one line."""
    import errno
    import tempfile

    from mgat.errors import OutputError

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(OutputError, match=r"cannot write .*a.txt: permission denied"):
        write_text_atomic(tmp_path / "a.txt", "x")
    assert not (tmp_path / "a.txt").exists()


def test_a_full_disk_keeps_the_previous_file(tmp_path: Path, monkeypatch) -> None:
    """ENOSPC while writing (simulated: this machine's disk is not full) is one line naming the
    output, and the previous file stays as it was, also for a torch checkpoint."""
    import errno

    import torch

    from mgat.engine.checkpoint import save_atomic
    from mgat.errors import OutputError

    target = tmp_path / "checkpoint.pt"
    save_atomic({"epoch": 1}, target)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch.serialization, "_save", full)
    with pytest.raises(OutputError, match=r"cannot write .*checkpoint.pt: no space left on device"):
        save_atomic({"epoch": 2}, target)
    monkeypatch.undo()
    assert torch.load(target)["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt"]
