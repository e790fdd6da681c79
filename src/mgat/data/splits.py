"""The splits file: which persons train and which test, per split, and where that came from.

Every rule after data preparation reads ``{results}/splits/{dataset}.json`` instead of deriving
the splits again, so a run is pinned to one recorded split definition.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mgat import __version__
from mgat.data.registry import open_dataset
from mgat.errors import ConfigError, DataError
from mgat.io import write_json_atomic

FORMAT_VERSION = 1


def make_splits(dataset: str, root: str | Path, seed: int = 0) -> dict[str, Any]:
    """Derive the splits of ``dataset`` under ``root`` as a JSON-ready record."""
    reader = open_dataset(dataset, root)
    derived = reader.make_splits(seed=seed)
    return {
        "format": FORMAT_VERSION,
        "dataset": dataset,
        "mgat_version": __version__,
        "num_splits": len(derived["splits"]),
        **derived,
    }


def write_splits(dataset: str, root: str | Path, out: str | Path, seed: int = 0) -> dict[str, Any]:
    """Derive the splits and write them to ``out`` atomically; return the record."""
    record = make_splits(dataset, root, seed=seed)
    write_json_atomic(out, record)
    return record


def read_splits(path: str | Path, dataset: str | None = None) -> dict[str, Any]:
    """Read a splits file, checking that it is one and belongs to ``dataset``."""
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"splits file {path} not found; generate it with the splits rule") from None
    except ValueError as err:
        raise DataError(
            f"splits file {path} is not valid JSON ({err}); delete it and rerun"
        ) from err
    if not isinstance(record, dict) or record.get("format") != FORMAT_VERSION:
        raise DataError(f"{path} is not a splits file of this version; delete it and rerun")
    if dataset is not None and record.get("dataset") != dataset:
        raise DataError(f"{path} holds the splits of {record.get('dataset')!r}, not {dataset!r}")
    return record


def select_split(record: dict[str, Any], index: int) -> dict[str, Any]:
    """Split ``index`` of a splits record, with a clear error when out of range."""
    count = len(record["splits"])
    if not 0 <= index < count:
        raise ConfigError(
            f"{record['dataset']}: split {index} out of range; it has {count} split(s), "
            f"use 0..{count - 1}"
        )
    return record["splits"][index]
