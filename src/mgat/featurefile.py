"""The features file: what extraction writes and evaluation reads.

A numpy ``.npz`` with the pooled query and gallery features, their ids, cameras and first
paths, ``gallery_in_query`` (MARS), and a JSON
``meta`` record (dataset, split, protocol, CHI, attention, provenance). It sits below both the
extraction (``mgat.features``) and the metrics, so neither imports the other.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from mgat.errors import DataError
from mgat.io import save_npz_atomic


def write_features(out: str | Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Write a features file atomically: ``arrays`` plus ``meta`` as JSON text."""
    save_npz_atomic(out, meta=np.asarray(json.dumps(meta)), **arrays)


def load_features(path: str | Path) -> dict[str, Any]:
    """Read a features file written by ``mgat.features.extract_features`` (arrays plus
    ``meta``)."""
    try:
        with np.load(path, allow_pickle=False) as content:
            arrays = {key: content[key] for key in content.files}
        arrays["meta"] = json.loads(str(arrays["meta"]))
    except FileNotFoundError:
        raise DataError(
            f"features file {path} not found; extract it first (mgat extract, or rule "
            "extract_features)"
        ) from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(
            f"{path} is not a features file written by mgat ({type(err).__name__}); "
            "delete it and extract it again (rule extract_features)"
        ) from err
    return arrays
