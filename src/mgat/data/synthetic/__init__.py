"""Synthetic person re-identification datasets in the real datasets' on-disk layouts.

``synthesize(dataset, out, ...)`` writes iLIDS-VID, PRID2011, MARS or Market-1501 as drawn people
(see :mod:`mgat.data.synthetic.people`) exactly where and how the real readers expect the real
data (see :mod:`mgat.data.synthetic.layouts`).
"""

from __future__ import annotations

from mgat.data.synthetic.layouts import DATASETS, FOLDERS, synthesize

__all__ = ["DATASETS", "FOLDERS", "synthesize"]
