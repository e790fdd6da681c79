"""The features file: what extraction writes and evaluation reads.

A numpy ``.npz`` with both test features (pooled and post-BN) of the query and the gallery, their
ids, cameras and first paths, ``gallery_in_query`` (MARS), and a JSON ``meta`` record (dataset,
split, protocol, CHI, attention, provenance). It sits below both the extraction
(``mgat.extraction``) and the metrics, so neither imports the other.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from mgat.errors import DataError
from mgat.io import save_npz_atomic
from mgat.vocabulary import TEST_FEATURES

#: The arrays of every features file besides ``meta``: the writer must give them all and the
#: reader refuses a file without one, so evaluation never meets a KeyError halfway.
FEATURE_ARRAYS = (
    *(f"{part}_features_{kind}" for part in ("query", "gallery") for kind in TEST_FEATURES),
    *(f"{part}_{what}" for part in ("query", "gallery") for what in ("pids", "camids", "paths")),
    "gallery_in_query",
)
#: What to do with a features file that cannot be used.
_EXTRACT_AGAIN = "delete it and extract it again (mgat extract, or rule extract_features)"


def write_features(out: str | Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Write a features file atomically: ``arrays`` (all of FEATURE_ARRAYS) plus ``meta`` as
    JSON text."""
    missing = [name for name in FEATURE_ARRAYS if name not in arrays]
    if missing:  # a bug of the extraction, not the user's
        raise ValueError(f"write_features: arrays {missing} missing")
    save_npz_atomic(out, meta=np.asarray(json.dumps(meta)), **arrays)


def load_features(path: str | Path) -> dict[str, Any]:
    """Read a features file written by ``mgat.extraction.extract_features`` (arrays plus
    ``meta``); one without an array of FEATURE_ARRAYS is refused by name."""
    try:
        with np.load(path, allow_pickle=False) as content:
            arrays = {key: content[key] for key in content.files}
        missing = [name for name in ("meta", *FEATURE_ARRAYS) if name not in arrays]
        if missing:
            raise DataError(f"features file {path} lacks {', '.join(missing)}; {_EXTRACT_AGAIN}")
        arrays["meta"] = json.loads(str(arrays["meta"]))
        if not isinstance(arrays["meta"], dict):
            raise ValueError("meta is not a JSON object")
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
