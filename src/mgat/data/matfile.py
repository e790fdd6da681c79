"""Reading MATLAB ``.mat`` files with one clear error for every way they can be wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.io
from scipy.io.matlab import MatReadError

from mgat.errors import DataError


def read_mat_array(path: str | Path, key: str, dataset: str) -> np.ndarray:
    """Return the numeric array stored under ``key`` in the ``.mat`` file at ``path``."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{dataset}: {path} not found; place the dataset's official files there")
    try:
        content = scipy.io.loadmat(path)
    except (MatReadError, ValueError, TypeError, OSError, NotImplementedError) as err:
        # NotImplementedError: MATLAB v7.3 (HDF5) files, which the official releases are not.
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DataError(
            f"{dataset}: cannot read {path} as a .mat file ({reason}); the file is corrupt or "
            "not the official one, get it again"
        ) from err
    if key not in content:
        found = sorted(k for k in content if not k.startswith("__"))
        raise DataError(
            f"{dataset}: {path} has no variable {key!r} (found {found}); the file is not the "
            "official one, get it again"
        )
    array = np.asarray(content[key])
    if not np.issubdtype(array.dtype, np.number):
        raise DataError(f"{dataset}: {path}:{key} is not numeric; the file is not the official one")
    return array
