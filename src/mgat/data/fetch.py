"""Downloading, checksumming and safely extracting dataset archives.

Everything here fails with a one-line :class:`~mgat.errors.DataError` that names the file or URL,
says what went wrong and what to do. Nothing is ever left half-done: downloads go to ``dest.part``
and are renamed into place only once complete and verified, and archives are extracted into a
temporary folder beside the destination and moved into place only when extraction succeeded.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import lzma
import os
import re
import shutil
import stat
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from mgat.errors import ConfigError, DataError

__all__ = ["download", "safe_extract", "sha256_file", "verify_sha256"]

log = logging.getLogger(__name__)

_HEX64 = re.compile(r"[0-9a-f]{64}")
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz")
_CHUNK = 1 << 20


# --------------------------------------------------------------------------------------------
# Checksums
# --------------------------------------------------------------------------------------------


def sha256_file(path: str | Path, chunk_size: int = _CHUNK) -> str:
    """Return the SHA-256 hex digest of the file at ``path``, reading it in chunks."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(chunk_size):
                digest.update(chunk)
    except FileNotFoundError:
        raise DataError(f"{path}: file not found; download it first") from None
    except IsADirectoryError:
        raise DataError(
            f"{path}: is a folder, expected a file; remove it or fix the path"
        ) from None
    return digest.hexdigest()


def _normalise_digest(expected: str) -> str:
    value = expected.strip().lower()
    if not _HEX64.fullmatch(value):
        raise ConfigError(
            f"expected SHA-256 {expected!r} is not a 64-character hex digest; fix it in the config"
        )
    return value


def verify_sha256(path: str | Path, expected: str | None) -> str:
    """Return the SHA-256 digest of ``path``; raise :class:`DataError` if it differs from
    ``expected`` (hex, case-insensitive). ``expected=None`` only computes the digest."""
    want = None if expected is None else _normalise_digest(expected)
    actual = sha256_file(path)
    if want is not None and actual != want:
        raise DataError(
            f"{path}: SHA-256 is {actual} but {want} was expected; the file is corrupt or "
            "incomplete, so delete it and download it again (or fix the checksum in the config "
            "if the file is known to be good)"
        )
    return actual


# --------------------------------------------------------------------------------------------
# Download
# --------------------------------------------------------------------------------------------


def _remove_quietly(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def download(
    url: str,
    dest: str | Path,
    *,
    sha256: str | None = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``dest`` and return ``dest``.

    The data goes to ``dest.part`` first; it is checked against ``sha256`` (when given) and then
    renamed onto ``dest`` atomically. On any failure the partial file is removed and a one-line
    :class:`DataError` names the URL, the reason and what to do. If ``dest`` already exists and
    matches ``sha256`` (or no checksum is given) nothing is downloaded.
    """
    dest = Path(dest)
    want = None if sha256 is None else _normalise_digest(sha256)
    by_hand = f"try again, or download it by hand and place it at {dest}"

    if dest.is_dir():
        raise DataError(f"{dest}: is a folder, but {url} should be downloaded there; remove it")
    if dest.is_file():
        if want is None:
            log.info("%s already exists; not downloading %s again", dest, url)
            return dest
        if sha256_file(dest) == want:
            log.info("%s already exists with the expected checksum; not downloading", dest)
            return dest
        log.warning("%s exists but its checksum differs; downloading %s again", dest, url)

    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"{dest.parent}: cannot create the folder ({exc}); fix the path") from None
    part = dest.with_name(dest.name + ".part")
    log.info("downloading %s to %s", url, dest)
    try:
        digest = _fetch(url, part, timeout=timeout, progress=progress, by_hand=by_hand)
    except DataError:
        _remove_quietly(part)
        raise
    except urllib.error.HTTPError as exc:
        _remove_quietly(part)
        raise DataError(
            f"{url}: download failed (HTTP {exc.code} {exc.reason}); {by_hand}"
        ) from None
    except urllib.error.URLError as exc:
        _remove_quietly(part)
        raise DataError(f"{url}: download failed ({exc.reason}); {by_hand}") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:
        _remove_quietly(part)
        reason = str(exc) or type(exc).__name__
        raise DataError(f"{url}: download failed ({reason}); {by_hand}") from None
    except BaseException:
        _remove_quietly(part)
        raise

    if want is not None and digest != want:
        _remove_quietly(part)
        raise DataError(
            f"{url}: downloaded file has SHA-256 {digest} but {want} was expected; {by_hand} "
            "(or fix the checksum in the config if the source changed)"
        )
    try:
        os.replace(part, dest)
    except OSError as exc:
        _remove_quietly(part)
        raise DataError(
            f"{url}: cannot move the download to {dest} ({exc}); fix the path"
        ) from None
    log.info("saved %s (sha256 %s)", dest, digest)
    return dest


def _fetch(url: str, part: Path, *, timeout: float, progress: bool, by_hand: str) -> str:
    """Stream ``url`` into ``part`` and return the SHA-256 of the bytes received."""
    digest = hashlib.sha256()
    request = urllib.request.Request(url, headers={"User-Agent": "mgat-repro"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        length_header = response.headers.get("Content-Length")
        total = int(length_header) if length_header and length_header.isdigit() else None
        received = 0
        with (
            open(part, "wb") as out,
            tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=part.name.removesuffix(".part"),
                disable=None if progress else True,
                leave=False,
            ) as bar,
        ):
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if total is not None and received != total:
        raise DataError(f"{url}: download incomplete (got {received} of {total} bytes); {by_hand}")
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------
# Archive validation
# --------------------------------------------------------------------------------------------

_DIR, _FILE, _SYMLINK, _HARDLINK = "folder", "file", "symbolic link", "hard link"
_SPECIAL = "special file"  # a device or pipe: tarfile's data filter refuses it


@dataclass(frozen=True)
class _Entry:
    parts: tuple[str, ...]
    kind: str
    target: str | None = None  # link target (symlink: relative to its folder; hardlink: to root)


def _refuse(archive: Path, what: str) -> DataError:
    return DataError(
        f"{archive}: refusing to extract, {what}; the archive is unsafe or damaged, so download "
        "it again from the official source or extract it by hand after checking it"
    )


def _split_name(archive: Path, name: str) -> tuple[str, ...]:
    """Split a member name into its components, refusing absolute paths and '..'."""
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        raise _refuse(archive, f"member {name!r} has an absolute path")
    parts = []
    for part in name.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            raise _refuse(archive, f"member {name!r} has a '..' component")
        if "\0" in part:
            raise _refuse(archive, f"member {name!r} has a NUL character in its name")
        parts.append(part)
    return tuple(parts)


def _validate(archive: Path, entries: list[_Entry]) -> list[str]:
    """Check that the members make one tree (no name twice, nothing both a file and a folder,
    hard links to earlier files); return the sorted top-level names it creates. Where links
    lead is tarfile's data filter's to check, during extraction."""
    kinds: dict[tuple[str, ...], str] = {}
    parents: set[tuple[str, ...]] = set()
    for entry in entries:
        shown = "/".join(entry.parts)
        previous = kinds.get(entry.parts)
        if previous is not None and not (previous == _DIR and entry.kind == _DIR):
            raise _refuse(archive, f"{shown!r} appears twice (as a {previous} and a {entry.kind})")
        if entry.kind == _HARDLINK:
            assert entry.target is not None
            target = _split_name(archive, entry.target)
            if kinds.get(target) not in (_FILE, _HARDLINK):
                raise _refuse(
                    archive,
                    f"hard link {shown!r} points to {entry.target!r}, which is not an earlier "
                    "file in the archive",
                )
        kinds[entry.parts] = entry.kind
        parents.update(entry.parts[:i] for i in range(1, len(entry.parts)))

    for parts in parents:
        kind = kinds.get(parts, _DIR)
        if kind != _DIR:
            raise _refuse(archive, f"{'/'.join(parts)!r} is both a {kind} and a folder")
    return sorted({e.parts[0] for e in entries})


def _tar_entries(
    archive: Path, members: list[tarfile.TarInfo]
) -> list[tuple[_Entry, tarfile.TarInfo]]:
    result = []
    for member in members:
        parts = _split_name(archive, member.name)
        if not parts:
            if member.isdir():
                continue  # the archive's own root ("./"): nothing to create
            raise _refuse(archive, f"member {member.name!r} has an empty name")
        if member.isdir():
            entry = _Entry(parts, _DIR)
        elif member.isreg():
            entry = _Entry(parts, _FILE)
        elif member.issym():
            entry = _Entry(parts, _SYMLINK, member.linkname)
        elif member.islnk():
            entry = _Entry(parts, _HARDLINK, member.linkname)
        else:
            entry = _Entry(parts, _SPECIAL)
        result.append((entry, member))
    return result


def _zip_entries(
    archive: Path, infos: list[zipfile.ZipInfo]
) -> list[tuple[_Entry, zipfile.ZipInfo]]:
    result = []
    for info in infos:
        name = info.filename.replace("\\", "/")
        parts = _split_name(archive, name)
        mode = info.external_attr >> 16
        if info.flag_bits & 0x1:
            raise _refuse(archive, f"member {info.filename!r} is encrypted")
        if stat.S_ISLNK(mode):
            raise _refuse(
                archive, f"member {info.filename!r} is a symbolic link (not supported in zip files)"
            )
        is_dir = name.endswith("/") or stat.S_ISDIR(mode)
        if stat.S_IFMT(mode) and not (is_dir or stat.S_ISREG(mode)):
            raise _refuse(archive, f"member {info.filename!r} is a special file")
        if not parts:
            if is_dir:
                continue
            raise _refuse(archive, f"member {info.filename!r} has an empty name")
        result.append((_Entry(parts, _DIR if is_dir else _FILE), info))
    return result


# --------------------------------------------------------------------------------------------
# Archive extraction
# --------------------------------------------------------------------------------------------


def _archive_type(archive: Path) -> str | None:
    name = archive.name.lower()
    if name.endswith(".zip"):
        return "zip"
    if name.endswith(_TAR_SUFFIXES):
        return "tar"
    if zipfile.is_zipfile(archive):
        return "zip"
    try:
        if tarfile.is_tarfile(archive):
            return "tar"
    except (OSError, EOFError, zlib.error, lzma.LZMAError, tarfile.TarError):
        pass
    return None


def _unreadable(archive: Path, reason: object) -> DataError:
    text = str(reason) or type(reason).__name__
    return DataError(f"{archive}: not a readable tar/zip archive ({text}); download it again")


_READ_ERRORS = (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error, lzma.LZMAError)


def _extract_zip(handle: zipfile.ZipFile, entries: list[tuple[_Entry, zipfile.ZipInfo]], to: Path):
    for entry, info in entries:
        target = to.joinpath(*entry.parts)
        if entry.kind == _DIR:
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        with handle.open(info) as src, open(target, "xb") as out:
            shutil.copyfileobj(src, out, _CHUNK)
        if (info.external_attr >> 16) & 0o100:
            mode = target.stat().st_mode
            os.chmod(target, stat.S_IMODE(mode) | ((mode & 0o444) >> 2))


def _remove_tree(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(path)


def safe_extract(archive: str | Path, dest: str | Path) -> list[Path]:
    """Extract a tar (plain, gzip, bzip2, xz) or zip ``archive`` into ``dest``; return the
    top-level paths created in ``dest``, sorted.

    One mechanism per guarantee, each refusing with a :class:`DataError` that leaves ``dest``
    as it was:

    * member names: before anything is written, absolute paths and '..' components are refused
      (both formats), as are members that clash (a file that is also a folder, a name twice, a
      hard link to no earlier file) and, in zip files, links, special and encrypted members;
    * tar contents: ``tarfile``'s ``filter="data"`` refuses links leading outside (following
      the links already extracted), devices and pipes, and drops setuid/setgid/sticky bits and
      group/other write permission.

    Extraction goes into a temporary folder ``.extract-*`` beside ``dest``, whose top-level
    entries are then moved into ``dest``; if one of them already exists nothing is moved.
    """
    archive = Path(archive)
    dest = Path(dest)
    if not archive.is_file():
        raise DataError(f"{archive}: archive not found; download it first or fix the path")
    kind = _archive_type(archive)
    if kind is None:
        raise _unreadable(archive, "unknown archive type")

    with contextlib.ExitStack() as stack:
        try:
            if kind == "zip":
                zhandle = stack.enter_context(zipfile.ZipFile(archive))
                zip_entries = _zip_entries(archive, zhandle.infolist())
                entries = [entry for entry, _ in zip_entries]
            else:
                thandle = stack.enter_context(tarfile.open(archive, "r:*"))
                tar_entries = _tar_entries(archive, thandle.getmembers())
                entries = [entry for entry, _ in tar_entries]
        except DataError:
            raise
        except (*_READ_ERRORS, OSError) as exc:
            raise _unreadable(archive, exc) from None
        if not entries:
            raise DataError(f"{archive}: the archive is empty; download it again")
        top_level = _validate(archive, entries)
        _check_free(archive, dest, top_level)

        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest.parent))
        except OSError as exc:
            raise DataError(f"{dest}: cannot create the folder ({exc}); fix the path") from None
        try:
            try:
                if kind == "zip":
                    _extract_zip(zhandle, zip_entries, tmp)
                else:
                    members = [member for _, member in tar_entries]
                    thandle.extractall(tmp, members=members, filter="data")
            except tarfile.FilterError as exc:
                raise _refuse(archive, str(exc)) from None
            except (*_READ_ERRORS, NotImplementedError, RuntimeError) as exc:
                raise _unreadable(archive, exc) from None
            except OSError as exc:
                raise DataError(
                    f"{archive}: extraction into {dest} failed ({exc}); check free disk space and "
                    "permissions, then try again"
                ) from None
            _check_free(archive, dest, top_level)
            dest.mkdir(exist_ok=True)
            created = []
            for name in top_level:
                try:
                    shutil.move(tmp / name, dest / name)
                except OSError as exc:
                    raise DataError(
                        f"{archive}: cannot move {name!r} into {dest} ({exc}); remove what was "
                        "moved already and try again"
                    ) from None
                created.append(dest / name)
        finally:
            _remove_tree(tmp)
    log.info("extracted %s into %s (%s)", archive, dest, ", ".join(top_level))
    return created


def _check_free(archive: Path, dest: Path, top_level: list[str]) -> None:
    for name in top_level:
        path = dest / name
        if path.exists() or path.is_symlink():
            raise DataError(
                f"{archive}: {path} already exists; remove it to extract the archive again, or "
                "use the existing copy and leave the archive unused"
            )
