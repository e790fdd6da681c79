"""Synthetic person re-identification datasets in the real datasets' on-disk layouts.

``synthesize(dataset, out, ...)`` writes iLIDS-VID, PRID2011, MARS or Market-1501 as drawn people
(see :mod:`mgat.data.synthetic.people`) exactly where and how the real readers expect the real
data: each dataset's writer is its package's ``synthetic`` module, and
:mod:`mgat.data.synthetic.writing` holds what they share.
"""

from __future__ import annotations

from mgat.data.synthetic.writing import synthesize

__all__ = ["synthesize"]
