"""Calinski-Harabasz index (the paper's Table 1 "CHI") of features grouped by identity."""

from __future__ import annotations

from typing import Any

import numpy as np

from mgat.errors import DataError
from mgat.metrics.rank import _to_numpy


def calinski_harabasz(features: Any, labels: Any) -> float:
    """sklearn's ``calinski_harabasz_score``, with its input requirements as one-line errors.

    Higher means tighter identities relative to their spread, which is how the paper argues
    that MGAT's optimised features cluster better than the baseline's.
    """
    from sklearn.metrics import calinski_harabasz_score  # sklearn is slow to import

    x = _to_numpy(features)
    y = _to_numpy(labels)
    if x.ndim != 2:
        raise DataError(f"features must be 2-D [samples, dims], got shape {x.shape}")
    if y.shape != (x.shape[0],):
        raise DataError(f"labels must have shape ({x.shape[0]},) to match the features")
    n_labels = len(np.unique(y))
    if not 2 <= n_labels <= x.shape[0] - 1:
        raise DataError(
            f"the Calinski-Harabasz index needs 2 to n_samples - 1 = {x.shape[0] - 1} distinct "
            f"labels, got {n_labels} over {x.shape[0]} samples"
        )
    return float(calinski_harabasz_score(x, y))
