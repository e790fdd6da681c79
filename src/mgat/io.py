"""Small file helpers: outputs appear whole or not at all."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from mgat.errors import DataError, OutputError


def _umask() -> int:
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode a plain ``open()`` would give a new file under the process's umask."""
    return 0o666 & ~_umask()


def dir_mode() -> int:
    """The mode ``mkdir`` would give a new folder under the process's umask."""
    return 0o777 & ~_umask()


#: Errors of writing that are the environment's, not a bug: reported as one line.
_WRITE_ERRNOS = frozenset(
    {
        errno.ENOSPC,
        errno.EDQUOT,
        errno.EROFS,
        errno.EACCES,
        errno.EPERM,
        errno.ENOTDIR,
        errno.EISDIR,
        errno.ENAMETOOLONG,
        errno.EFBIG,
    }
)


def _output_error(path: Path, err: OSError) -> OutputError:
    reason = err.strerror or type(err).__name__
    return OutputError(
        f"cannot write {path}: {reason.lower()}; free space, fix the permissions or choose "
        "another output folder (earlier files are left as they were)"
    )


def _same(a: Path, b: Path) -> bool:
    """Whether two paths name one file (through links too, where both exist)."""
    try:
        return a.samefile(b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _inside(path: Path, folder: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))


def check_outputs(
    outputs: Mapping[str, str | Path | None],
    inputs: Mapping[str, str | Path | None] | None = None,
    folders: Mapping[str, str | Path] | None = None,
) -> None:
    """Refuse, before any work, an output that would destroy an input or another output: one
    that is an input file, lies inside an input folder (a dataset's), equals another output,
    or is an existing folder. Keys name each path as the user gave it (``--out``, ...)."""
    named = {name: Path(path) for name, path in outputs.items() if path is not None}
    sources = {name: Path(path) for name, path in (inputs or {}).items() if path is not None}
    seen: dict[str, Path] = {}
    for name, path in named.items():
        if path.is_dir():
            raise OutputError(f"{name} {path} is a folder; give the path of a file to write")
        for source, given in sources.items():
            if _same(path, given):
                raise OutputError(
                    f"{name} {path} is also the {source}, which writing it would destroy; "
                    "give the output another path"
                )
        for source, folder in (folders or {}).items():
            if _inside(path, Path(folder)):
                raise OutputError(
                    f"{name} {path} lies inside the {source} {folder}; outputs never go "
                    "into an input folder, give another path"
                )
        for other, earlier in seen.items():
            if _same(path, earlier):
                raise OutputError(
                    f"{other} and {name} are both {path}; give each output its own path"
                )
        seen[name] = path


def ensure_writable(*paths: str | Path) -> None:
    """Check before any work that each path's folder can be created and written to, and that
    the path is not a folder itself."""
    for path in map(Path, paths):
        if path.is_dir():
            raise OutputError(f"{path} is a folder; give the path of a file to write")
        blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            raise OutputError(
                f"cannot write {path}: {blocking} is a file, not a folder; move it away or "
                "choose another output folder (earlier files are left as they were)"
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=path.parent)
            os.close(fd)
            os.unlink(name)
        except OSError as err:
            if err.errno in _WRITE_ERRNOS or isinstance(err, FileExistsError):
                raise _output_error(path, err) from None
            raise


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed onto ``path`` when the block ends
    without error, removed otherwise, so a killed job never leaves half a file.

    The file gets the mode the user's umask gives new files (``mkstemp`` alone makes it 0600,
    which a group sharing a results folder cannot read).
    """
    path = Path(path)
    ensure_writable(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, file_mode())
        os.replace(tmp, path)
    except OSError as err:
        if err.errno in _WRITE_ERRNOS:  # e.g. the disk filled up while writing
            raise _output_error(path, err) from None
        raise
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


def read_json(path: str | Path, what: str, remedy: str) -> Any:
    """Read a JSON file this project wrote; a missing or damaged one is one DataError line
    naming the file, what it should be, and ``remedy`` (e.g. which rule remakes it)."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{what} {path} not found; {remedy}") from None
    except (OSError, UnicodeDecodeError, ValueError) as err:
        reason = getattr(err, "msg", None) or type(err).__name__
        raise DataError(f"{what} {path} is damaged ({reason}); {remedy}") from None


@contextlib.contextmanager
def output_errors(path: str | Path) -> Iterator[None]:
    """Report the environment's errors of writing ``path`` (a full disk, a read-only folder, a
    file where a folder must be) as the one-line OutputError, for writers that atomic_path does
    not wrap (a whole folder); a bug's OSError still surfaces with its traceback."""
    try:
        yield
    except OSError as err:
        if err.errno in _WRITE_ERRNOS:
            raise _output_error(Path(path), err) from None
        raise
