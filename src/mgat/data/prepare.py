"""Put a real dataset in place: check what the user placed, download what is public, extract.

Readers only read; this module is the one place that writes into the data root. It never
leaves half a dataset behind: archives are downloaded to a ``.part`` file and extracted through
a temporary folder, and the manifest that later rules depend on is written last.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mgat import __version__
from mgat.data.archives import safe_extract
from mgat.data.download import download
from mgat.data.info import DatasetInfo
from mgat.data.registry import dataset_class, dataset_folder, dataset_info
from mgat.digest import verify_sha256
from mgat.errors import ConfigError, DataError
from mgat.io import check_outputs, write_json_atomic

log = logging.getLogger(__name__)


def placed_path(dataset: str, root: str | Path, name: str, override: str | None) -> Path:
    """Where the placed file ``name`` of ``dataset`` is looked for."""
    if override:
        return Path(override)
    return Path(root) / dataset_info(dataset).folder / name


def _check_keys(dataset: str, files: Mapping[str, Any], sha256: Mapping[str, Any]) -> None:
    """Refuse a key that names no placed file of ``dataset``: it would otherwise be ignored."""
    valid = dataset_info(dataset).placed_files
    for what, given in (("placed-file", files), ("checksum", sha256)):
        unknown = sorted(set(given) - set(valid))
        if unknown:
            raise ConfigError(
                f"{dataset}: unknown {what} key(s) {', '.join(unknown)}; valid keys: "
                f"{', '.join(valid)}"
            )
    folders = sorted(key for key in sha256 if not valid[key][0].endswith((".zip", ".tar")))
    if folders:
        raise ConfigError(
            f"{dataset}: {', '.join(folders)} is a folder, which has no SHA-256; drop the checksum"
        )


def _check_given_checksums(
    dataset: str, root: Path, files: Mapping[str, str | None], sha256: Mapping[str, str]
) -> None:
    """A checksum the user gave is checked even when the dataset is already extracted: against
    the archive where it still is, else the user is told it could not be."""
    for key, expected in sha256.items():
        archive = placed_path(
            dataset, root, dataset_info(dataset).placed_files[key][0], files.get(key)
        )
        if archive.is_file():
            verify_sha256(archive, expected)
        else:
            log.warning(
                "%s: the dataset is already extracted and its %s %s is gone, so its SHA-256 "
                "could not be checked",
                dataset,
                key,
                archive,
            )


def prepare_dataset(
    dataset: str,
    root: str | Path,
    *,
    files: Mapping[str, str | None] | None = None,
    sha256: Mapping[str, str | None] | None = None,
    url: str | None = None,
    allow_download: bool = True,
) -> Path:
    """Make ``dataset`` readable under ``root`` and return its folder.

    ``files`` maps a placed file's key (the dataset's ``INFO.placed_files``) to where the user
    put it
    (None: the default place, ``root/<dataset folder>/<file name>``). ``sha256`` maps the same
    keys to known checksums. ``url`` is downloaded when the archive is missing and
    ``allow_download`` is set.
    """
    info = dataset_info(dataset)
    cls = dataset_class(dataset)
    root = Path(root)
    files = dict(files or {})
    checksums = {key: value for key, value in (sha256 or {}).items() if value}
    _check_keys(dataset, files, checksums)
    try:
        cls(root)
    except DataError as err:
        log.info("%s: not in place yet (%s); looking for its archives", dataset, err)
    else:
        log.info("%s: found in place under %s", dataset, root)
        _check_given_checksums(dataset, root, files, checksums)
        return root / info.folder

    target = root / info.folder
    created: list[Path] = []
    try:
        for key, (name, yields) in info.placed_files.items():
            if (target / yields).is_dir():
                continue  # extracted before; another part of the dataset was missing
            source = placed_path(dataset, root, name, files.get(key))
            if not source.exists():
                if url and allow_download and name.endswith((".tar", ".zip")):
                    log.info("%s: downloading %s to %s", dataset, url, source)
                    download(url, source, sha256=checksums.get(key))
                else:
                    raise DataError(_missing_message(info, key, name, source))
            if source.is_dir():
                _place_folder(source, target / yields)
                created.append(target / yields)
                continue
            verify_sha256(source, checksums.get(key))
            created.extend(_nest_if_needed(target, yields, safe_extract(source, target)))
        try:
            cls(root)
        except DataError as err:
            raise DataError(
                f"{dataset}: the placed files were extracted into {target} but the layout is "
                f"still wrong ({err}); check that they are the official releases"
            ) from err
    except BaseException:
        # Leave the data root as it was: no half-extracted dataset for a later run to trust.
        for path in created:
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(True)
        raise
    return target


def _missing_message(info: DatasetInfo, key: str, name: str, source: Path) -> str:
    kind = "folder" if "." not in name else "archive"
    return (
        f"{info.name}: dataset not found in place and its {kind} {name} is missing; get {name} "
        f"from {info.source_page} and put it at {source} (or set config data.{info.name}.{key})"
    )


def _place_folder(source: Path, destination: Path) -> None:
    """Copy a placed folder (e.g. MARS ``info/``) into the dataset."""
    tmp = destination.with_name(f".{destination.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(source, tmp)
    os.replace(tmp, destination)


def _nest_if_needed(target: Path, yields: str, created: list[Path]) -> list[Path]:
    """Move what an archive unpacked into ``yields`` when it lacks that top folder (PRID2011's
    archive may unpack ``multi_shot/`` directly; its reader expects ``prid_2011/``).

    Returns the top-level paths the extraction left in ``target``.
    """
    if any(p.name == yields for p in created):
        return created
    nested = target / yields
    nested.mkdir(exist_ok=True)
    for path in created:
        os.replace(path, nested / path.name)
    return [nested]


def fingerprint_tree(folder: str | Path) -> tuple[int, str]:
    """Number of files under ``folder`` and a SHA-256 over their relative paths and sizes.

    Cheap enough for MARS's million frames, and it changes when a file is added, removed,
    renamed or truncated.
    """
    folder = Path(folder)
    digest = hashlib.sha256()
    count = 0
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in sorted(filenames):
            path = Path(dirpath) / name
            rel = path.relative_to(folder).as_posix()
            digest.update(f"{rel}\t{path.stat().st_size}\n".encode())
            count += 1
    return count, digest.hexdigest()


def write_manifest(dataset: str, root: str | Path, out: str | Path, source: str) -> dict[str, Any]:
    """Record what dataset was read from where, for the rules that depend on it."""
    check_outputs({"manifest": out}, folders={"dataset folder": dataset_folder(dataset, root)})
    folder = dataset_info(dataset).folder
    dataset_class(dataset)(root)  # the layout must be valid before anything depends on it
    count, digest = fingerprint_tree(Path(root) / folder)
    record = {
        "dataset": dataset,
        "source": source,
        "root": str(root),
        "folder": folder,
        "files": count,
        "tree_sha256": digest,
        "mgat_version": __version__,
    }
    write_json_atomic(out, record)
    return record
