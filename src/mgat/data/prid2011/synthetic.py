"""Synthetic PRID2011 in the real layout (see :mod:`mgat.data.synthetic`).

Frames of normal persons in ``[max(min, 27), max]``; "short" persons (about 10% of the shared
ones, at least 1, their number adjusted so that the number of qualifying persons is even) have
``[min, min(max, 26, max(min, 20))]`` frames in cam_a, cam_b or both. Defaults ``min=8, max=40``
give 27..40 and 8..20. With ``min_frames >= 27`` no person can be short (a warning is logged);
with ``max_frames < 27`` no person qualifies and a split file cannot be written (ConfigError).
``max(2, ids // 8)`` extra persons 201.. in cam_a and twice as many in cam_b, a different
person in each camera. Split files use the sorted qualifying names, the last one dropped if
their number is odd; the first half of each permutation is the test set.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from mgat.data.prid2011 import INFO, MIN_FRAMES
from mgat.data.synthetic.writing import Context, savemat

log = logging.getLogger(__name__)


def _prid_ranges(lo: int, hi: int) -> tuple[tuple[int, int], tuple[int, int] | None]:
    """(normal range, short range or None) of PRID tracklet lengths for the range [lo, hi]."""
    normal = (max(lo, MIN_FRAMES), hi) if hi >= MIN_FRAMES else (lo, hi)
    if lo >= MIN_FRAMES or hi < MIN_FRAMES:
        return normal, None
    return normal, (lo, min(hi, MIN_FRAMES - 1, max(lo, 20)))


def write(
    ctx: Context, root: Path, n: int, lo: int, hi: int, split_file: str | None, **_: object
) -> None:
    """Write a synthetic PRID2011 into ``root`` (the dataset's folder)."""
    plan = ctx.rng("plan")
    normal, short = _prid_ranges(lo, hi)
    n_short = 0
    if short is not None:
        n_short = max(1, round(0.1 * n))
        n_short += (n - n_short) % 2  # an even number of qualifying persons
    elif hi >= MIN_FRAMES:
        log.warning("prid2011: min_frames >= %d, so no person is too short", MIN_FRAMES)
    short_persons = set((plan.choice(n, n_short, replace=False) + 1).tolist())

    base = root / "prid_2011"
    lengths: dict[str, dict[int, int]] = {"a": {}, "b": {}}
    for person in range(1, n + 1):
        short_cams = ""
        if person in short_persons and short is not None:
            short_cams = str(plan.choice(["a", "b", "ab"]))
        for cam in "ab":
            rng_range = short if short is not None and cam in short_cams else normal
            lengths[cam][person] = int(plan.integers(rng_range[0], rng_range[1] + 1))
    n_extra = max(2, n // 8)
    extras = {"a": range(201, 201 + n_extra), "b": range(201, 201 + 2 * n_extra)}
    for cam in "ab":
        for person in extras[cam]:
            lengths[cam][person] = int(plan.integers(lo, hi + 1))

    for cam in "ab":
        camera = ctx.camera(cam)
        for person, length in lengths[cam].items():
            shared = person <= n
            app = ctx.appearance("id", person) if shared else ctx.appearance("extra", cam, person)
            folder = base / "multi_shot" / f"cam_{cam}" / f"person_{person:04d}"
            paths = [folder / f"{f:04d}.png" for f in range(1, length + 1)]
            ctx.tracklet(paths, app, camera, ("multi", cam, person))
            single = base / "single_shot" / f"cam_{cam}" / f"person_{person:04d}.png"
            ctx.tracklet([single], app, camera, ("single", cam, person))

    qualifying = [
        f"person_{p:04d}"
        for p in range(1, n + 1)
        if min(lengths["a"][p], lengths["b"][p]) >= MIN_FRAMES
    ]
    qualifying = qualifying[: len(qualifying) // 2 * 2]
    nq = len(qualifying)
    if split_file == "json":
        splits = []
        for _split in range(INFO.num_splits):
            perm = plan.permutation(nq)
            splits.append(
                {
                    "train": sorted(qualifying[i] for i in perm[nq // 2 :]),
                    "test": sorted(qualifying[i] for i in perm[: nq // 2]),
                }
            )
        (root / "splits_prid2011.json").write_text(json.dumps(splits, indent=2) + "\n")
    elif split_file == "mat":
        ls_set = np.stack([plan.permutation(nq) + 1 for _ in range(INFO.num_splits)])
        savemat(root / "train_test_splits_prid.mat", "ls_set", ls_set)
