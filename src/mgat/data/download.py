"""Downloading a public dataset archive, or failing in one line that says how to place it by hand.

The data goes to ``dest.part`` and is renamed onto ``dest`` only once complete and checked, so
a later run never trusts half a download.
"""

from __future__ import annotations

import http.client
import logging
import shutil
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from mgat.digest import normalise_sha256, sha256_file
from mgat.errors import DataError

__all__ = ["download", "download_error"]

log = logging.getLogger(__name__)

#: What a failed download can raise, besides our own DataError: urllib's errors are OSErrors.
DOWNLOAD_ERRORS = (OSError, ValueError, http.client.HTTPException)


def download_error(url: str, dest: Path, exc: BaseException) -> DataError:
    """The one line for a failed download of ``url`` to ``dest``: why, and how to do it by hand."""
    if isinstance(exc, urllib.error.HTTPError):
        reason = f"HTTP {exc.code} {exc.reason}"
    elif isinstance(exc, urllib.error.URLError):
        reason = str(exc.reason)
    else:
        reason = str(exc) or type(exc).__name__
    return DataError(
        f"{url}: download failed ({reason}); try again, or download it by hand and place it "
        f"at {dest}"
    )


def download(
    url: str,
    dest: str | Path,
    *,
    sha256: str | None = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``dest`` and return ``dest``.

    If ``dest`` already exists and matches ``sha256`` (or no checksum is given) nothing is
    downloaded. On any failure the partial file is removed and a one-line :class:`DataError`
    names the URL, the reason and what to do.
    """
    dest = Path(dest)
    want = None if sha256 is None else normalise_sha256(sha256)
    if dest.is_dir():
        raise DataError(f"{dest}: is a folder, but {url} should be downloaded there; remove it")
    if dest.is_file():
        if want is None or sha256_file(dest) == want:
            log.info("%s already exists; not downloading %s again", dest, url)
            return dest
        log.warning("%s exists but its checksum differs; downloading %s again", dest, url)

    part = dest.with_name(dest.name + ".part")
    log.info("downloading %s to %s", url, dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _stream(url, part, timeout=timeout, progress=progress)
        if want is not None and (digest := sha256_file(part)) != want:
            raise DataError(
                f"{url}: downloaded file has SHA-256 {digest} but {want} was expected; try "
                f"again, or download it by hand and place it at {dest} (or fix the checksum in "
                "the config if the source changed)"
            )
        part.replace(dest)
    except DOWNLOAD_ERRORS as exc:
        raise download_error(url, dest, exc) from None
    finally:
        part.unlink(missing_ok=True)
    log.info("saved %s", dest)
    return dest


def _stream(url: str, part: Path, *, timeout: float, progress: bool) -> None:
    """Copy ``url`` into ``part``; a body shorter than its Content-Length is refused (urllib
    reads such a body to its end without complaint)."""
    request = urllib.request.Request(url, headers={"User-Agent": "mgat-repro"})
    with urllib.request.urlopen(request, timeout=timeout) as response, open(part, "wb") as out:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        bar = tqdm.wrapattr(
            out,
            "write",
            total=total,
            desc=part.name.removesuffix(".part"),
            disable=None if progress else True,
            leave=False,
        )
        with bar as sink:
            shutil.copyfileobj(response, sink, 1 << 20)
    received = part.stat().st_size
    if total is not None and received != total:
        raise ConnectionError(f"incomplete: got {received} of {total} bytes")
