"""Atomic outputs: whole or absent, and readable by whom the user's umask allows."""

from __future__ import annotations

import json
import os
import stat
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from mgat.data.synthetic import synthesize
from mgat.errors import DataError
from mgat.featurefile import FEATURE_ARRAYS, load_features, write_features
from mgat.io import atomic_path, save_npz_atomic, write_json_atomic, write_text_atomic
from tests.helpers import one_error_line, run_on_tmpfs


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


# --- real full and read-only filesystems ---------------------------------------------------------


SAVE_ON_FULL_DISK = """
import sys
from pathlib import Path

import torch

from mgat.engine.checkpoint import load, save_atomic
from mgat.errors import OutputError

target = Path(sys.argv[1]) / "model.pt"
save_atomic({"epoch": 1}, target)
try:
    save_atomic({"epoch": 2, "w": torch.zeros(int(sys.argv[2]))}, target)
except OutputError as err:
    print(f"mgat: error: {err}", file=sys.stderr)
print(load(target)["epoch"], *sorted(p.name for p in target.parent.iterdir()))
"""


@pytest.mark.parametrize(
    "floats",
    [64_500, 100_000, 2_000_000],
    ids=["full in the zip's tail", "full in a tensor", "far too large"],
)
def test_save_atomic_on_a_full_disk_is_one_line(tmp_path: Path, floats: int) -> None:
    """On a real full filesystem (a 256 KiB tmpfs), saving a model or checkpoint larger than the
    space left is one line naming the file, and the previous file stays. Torch's zip writer
    raised a bare RuntimeError ("unexpected pos") when the disk filled inside a tensor."""
    mount = tmp_path / "full"
    argv = [sys.executable, "-c", SAVE_ON_FULL_DISK, str(mount), str(floats)]
    result = run_on_tmpfs(mount, "size=256k", argv)
    line = one_error_line(result)
    assert line.startswith(f"mgat: error: cannot write {mount}/model.pt: no space left on device; ")
    assert result.stdout.split() == ["1", "model.pt"]  # the old file, no temporary left


def _features(tmp_path: Path, drop: tuple[str, ...]) -> Path:
    """A features file with every array but ``drop`` (written as np.savez, as an older mgat)."""
    arrays = {name: np.zeros(2) for name in FEATURE_ARRAYS if name not in drop}
    if "meta" not in drop:
        arrays["meta"] = np.asarray(json.dumps({"dataset": "mars"}))
    path = tmp_path / "f.npz"
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    "drop",
    [("query_features_pooled",), ("gallery_pids", "gallery_in_query"), ("meta",)],
    ids=["a feature", "ids and flags", "meta"],
)
def test_a_features_file_lacking_an_array_is_refused_by_name(
    tmp_path: Path, drop: tuple[str, ...]
) -> None:
    path = _features(tmp_path, drop)
    with pytest.raises(DataError) as info:
        load_features(path)
    assert str(info.value) == (
        f"features file {path} lacks {', '.join(drop)}; delete it and extract it again "
        "(mgat extract, or rule extract_features)"
    )


def test_a_whole_features_file_loads_and_the_writer_needs_every_array(tmp_path: Path) -> None:
    data = load_features(_features(tmp_path, ()))
    assert set(data) == {"meta", *FEATURE_ARRAYS} and data["meta"] == {"dataset": "mars"}
    arrays = {name: np.zeros(2) for name in FEATURE_ARRAYS if name != "query_paths"}
    with pytest.raises(ValueError, match=r"write_features: arrays \['query_paths'\] missing"):
        write_features(tmp_path / "g.npz", {}, arrays)
    assert not (tmp_path / "g.npz").exists()
