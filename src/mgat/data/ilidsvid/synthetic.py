"""Synthetic iLIDS-VID in the real layout (see :mod:`mgat.data.synthetic`).

Person numbers: ``ids`` distinct numbers from ``1..ids + max(2, ids // 8)`` (so there are
gaps); every person in both cameras; frame numbers run consecutively from a start in 2..3000.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mgat.data.ilidsvid import INFO
from mgat.data.synthetic.writing import Context, savemat


def write(ctx: Context, root: Path, n: int, lo: int, hi: int, **_: object) -> None:
    """Write a synthetic iLIDS-VID into ``root`` (the dataset's folder)."""
    plan = ctx.rng("plan")
    pool = min(999, n + max(2, n // 8))
    persons = sorted(plan.choice(np.arange(1, pool + 1), n, replace=False).tolist())
    sequences = root / "i-LIDS-VID" / "sequences"
    for person in persons:
        app = ctx.appearance("id", person)
        for cam in (1, 2):
            length = int(plan.integers(lo, hi + 1))
            start = int(plan.integers(2, 3001))
            folder = sequences / f"cam{cam}" / f"person{person:03d}"
            paths = [
                folder / f"cam{cam}_person{person:03d}_{start + i:05d}.png" for i in range(length)
            ]
            ctx.tracklet(paths, app, ctx.camera(cam), (person, cam))
    ls_set = np.stack([plan.permutation(n) + 1 for _ in range(INFO.num_splits)])
    savemat(root / "train-test people splits" / "train_test_splits_ilidsvid.mat", "ls_set", ls_set)
