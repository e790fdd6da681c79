"""The features file: what extraction writes and evaluation and Figure 4 read.

A numpy ``.npz`` with the pooled query and gallery features, their ids, cameras and first
paths, the Figure-4 sample of distinct test frames, ``gallery_in_query`` (MARS), and a JSON
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


def sample_distances(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances between the Figure-4 sample frames of a features file, and their
    person ids (grouped by person)."""
    data = load_features(path)
    sample = np.asarray(data["sample_features"], dtype=np.float64)
    squared = ((sample[:, None, :] - sample[None, :, :]) ** 2).sum(axis=-1)
    return np.sqrt(squared), data["sample_pids"]


def figure4_distances(
    baseline: str | Path, mgat: str | Path
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance matrices of the same sample frames under the baseline and the MGAT model."""
    base, pids = sample_distances(baseline)
    refined, refined_pids = sample_distances(mgat)
    if not np.array_equal(pids, refined_pids):
        raise DataError(
            f"{baseline} and {mgat} hold different sample frames; extract both from one split"
        )
    return base, refined, pids
