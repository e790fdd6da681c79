"""Where a number came from: software versions, code revision, device, and input digests.

Every model records the environment it was trained in; every features file and evaluation
carries the digests of the model and splits file it was made from; every metrics file and table
gets a ``*.provenance.json`` beside it that gathers those records, so a number in a table can
be traced to the exact code, settings, data and weights behind it.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import platform
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from mgat import __version__

#: Distributions whose versions change results or their rendering.
PACKAGES = ("torch", "torchvision", "numpy", "scipy", "scikit-learn", "pandas", "snakemake")


@cache
def software() -> dict[str, str | None]:
    """Versions of Python, mgat and the packages that shape the numbers (None: not installed)."""
    versions: dict[str, str | None] = {"python": platform.python_version(), "mgat": __version__}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@cache
def code_revision() -> dict[str, Any]:
    """The git revision of the checkout mgat runs from and whether its tracked files differ
    from it; both None outside a git checkout."""
    checkout = Path(__file__).resolve().parents[2]

    def git(*args: str) -> str | None:
        try:
            result = subprocess.run(
                ["git", "-C", str(checkout), *args], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return result.stdout.strip() if result.returncode == 0 else None

    revision = git("rev-parse", "HEAD")
    if revision is None:
        return {"revision": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"revision": revision, "dirty": None if status is None else bool(status)}


def device_name(device: Any) -> str:
    """``cpu``, or ``cuda:N`` with the GPU's name."""
    text = str(device)
    if text.startswith("cuda"):
        import torch

        index = getattr(device, "index", None) or 0
        return f"{text} ({torch.cuda.get_device_name(index)})"
    return text


def environment(**extra: Any) -> dict[str, Any]:
    """A provenance record of this process: time (UTC), software, code revision, ``extra``."""
    return {
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "software": software(),
        "code": code_revision(),
        **extra,
    }


def file_digest(path: str | Path) -> dict[str, str]:
    """``{"path", "sha256"}`` of a file."""
    from mgat.digest import sha256_file

    return {"path": str(path), "sha256": sha256_file(path)}


def write_provenance(
    out: str | Path,
    *,
    outputs: dict[str, str | Path],
    inputs: dict[str, str | Path] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Write the provenance record of a step's ``outputs`` (with their digests), made from
    ``inputs`` (digests too) and whatever ``extra`` traces them further."""
    from mgat.io import write_json_atomic

    record = environment(
        outputs={name: file_digest(path) for name, path in outputs.items()},
        inputs={name: file_digest(path) for name, path in (inputs or {}).items()},
        **extra,
    )
    write_json_atomic(out, record)
    return record
