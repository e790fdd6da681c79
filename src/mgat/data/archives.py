"""Extracting a dataset archive without writing outside its folder or leaving half of it behind.

One mechanism per guarantee:

* tar: ``tarfile``'s ``filter="data"`` keeps every member and link inside the folder, refuses
  devices and pipes, and drops setuid bits (leading slashes are stripped, as tar(1) does);
* zip: one name check refuses absolute paths, '..' and symbolic links before anything is read;
* nothing half-done: the archive is extracted into a temporary folder beside the destination,
  and its top-level entries are moved in only once all of it is out and none of them clashes.
"""

from __future__ import annotations

import errno
import logging
import lzma
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path, PureWindowsPath

from mgat.errors import DataError

__all__ = ["safe_extract"]

log = logging.getLogger(__name__)

#: Raised while reading a damaged archive (zipfile: RuntimeError for an encrypted member,
#: NotImplementedError for an unknown compression).
_READ_ERRORS = (
    tarfile.TarError,
    zipfile.BadZipFile,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    RuntimeError,
    NotImplementedError,
)
#: What writing into a fresh, empty folder can only hit when the archive's members clash.
_CLASH = {errno.ENOTDIR, errno.EISDIR, errno.EEXIST}


def _refuse(archive: Path, what: str) -> DataError:
    return DataError(
        f"{archive}: refusing to extract, {what}; the archive is unsafe or damaged, so download "
        "it again from the official source or extract it by hand after checking it"
    )


def _unreadable(archive: Path, reason: object) -> DataError:
    text = str(reason) or type(reason).__name__
    return DataError(f"{archive}: not a readable tar/zip archive ({text}); download it again")


def _check_zip_names(archive: Path, handle: zipfile.ZipFile) -> None:
    """Refuse what ``zipfile`` would silently rewrite: absolute paths and '..' (read as Windows
    paths, since backslashes are separators to the tools that write them) and links."""
    for info in handle.infolist():
        name = PureWindowsPath(info.filename)
        if name.drive or name.root:
            raise _refuse(archive, f"member {info.filename!r} has an absolute path")
        if ".." in name.parts:
            raise _refuse(archive, f"member {info.filename!r} has a '..' component")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise _refuse(archive, f"member {info.filename!r} is a symbolic link")


def _open_tar(archive: Path) -> tarfile.TarFile | None:
    """``archive`` opened as a tar file of any compression, or None if it is not one."""
    try:
        return tarfile.open(archive, "r:*")
    except tarfile.ReadError:
        return None


def _extract_into(archive: Path, folder: Path) -> None:
    """Extract ``archive`` (tar, any compression, or zip) into the empty ``folder``."""
    tar = _open_tar(archive)
    if tar is not None:
        with tar:
            tar.extractall(folder, filter="data")
    elif zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as handle:
            _check_zip_names(archive, handle)
            handle.extractall(folder)
    else:
        raise _unreadable(archive, "neither a tar nor a zip file")


def safe_extract(archive: str | Path, dest: str | Path) -> list[Path]:
    """Extract a tar (plain, gzip, bzip2, xz) or zip ``archive`` into ``dest``; return the
    top-level paths created in ``dest``, sorted.

    A refused or damaged archive, or one whose top-level entry already exists in ``dest``,
    raises a one-line :class:`DataError` and leaves ``dest`` as it was.
    """
    archive = Path(archive)
    dest = Path(dest)
    if not archive.is_file():
        raise DataError(f"{archive}: archive not found; download it first or fix the path")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest.parent))
    except OSError as exc:
        raise DataError(f"{dest}: cannot create the folder ({exc}); fix the path") from None
    try:
        try:
            _extract_into(archive, tmp)
        except tarfile.FilterError as exc:
            raise _refuse(archive, str(exc)) from None
        except KeyError as exc:  # a hard link to a member the archive does not have
            raise _refuse(archive, exc.args[0]) from None
        except _READ_ERRORS as exc:
            raise _unreadable(archive, exc) from None
        except OSError as exc:
            if exc.errno in _CLASH:
                raise _refuse(archive, f"its members clash ({exc})") from None
            raise DataError(
                f"{archive}: extraction into {dest} failed ({exc}); check free disk space and "
                "permissions, then try again"
            ) from None
        top_level = sorted(path.name for path in tmp.iterdir())
        if not top_level:
            raise DataError(f"{archive}: the archive is empty; download it again")
        for name in top_level:
            if (dest / name).exists() or (dest / name).is_symlink():
                raise DataError(
                    f"{archive}: {dest / name} already exists; remove it to extract the archive "
                    "again, or use the existing copy and leave the archive unused"
                )
        dest.mkdir(exist_ok=True)
        for name in top_level:
            try:
                shutil.move(tmp / name, dest / name)
            except OSError as exc:
                raise DataError(
                    f"{archive}: cannot move {name!r} into {dest} ({exc}); remove what was "
                    "moved already and try again"
                ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("extracted %s into %s (%s)", archive, dest, ", ".join(top_level))
    return [dest / name for name in top_level]
