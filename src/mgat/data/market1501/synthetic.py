"""Synthetic Market1501 in the real layout (see :mod:`mgat.data.synthetic`).

``2 * ids`` pids drawn from 1..1501, half train, half test; each pid in 2-4 of the 6 cameras
with 2-4 gallery images per camera (one sequence ``s`` per pid and camera, increasing frame
numbers), plus one separate query image per (test pid, camera). ``bounding_box_test`` also
holds ``max(4, ids)`` distractors (pid ``0000``) and ``max(4, ids // 2)`` junk images (pid
``-1``). ``Thumbs.db`` sits in the train, test and query folders.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mgat.data.market1501 import RELEASE
from mgat.data.synthetic.writing import THUMBS_DB, Context


def write(ctx: Context, root: Path, n: int, **_: object) -> None:
    """Write a synthetic Market1501 into ``root`` (the dataset's folder)."""
    base = root / RELEASE
    train, test, query = (base / d for d in ("bounding_box_train", "bounding_box_test", "query"))
    for folder in (train, test, query):
        folder.mkdir(parents=True)
        (folder / "Thumbs.db").write_bytes(THUMBS_DB)
    plan = ctx.rng("plan")
    pids = plan.choice(np.arange(1, 1502), 2 * n, replace=False)
    test_pids = set(pids[n:].tolist())
    for pid in sorted(pids.tolist()):
        app = ctx.appearance("id", pid)
        is_test = pid in test_pids
        n_cams = int(plan.integers(2, 5))
        for cam in sorted(plan.choice(np.arange(1, 7), n_cams, replace=False).tolist()):
            k = int(plan.integers(2, 5))
            seq = int(plan.integers(1, 7))
            frames = int(plan.integers(1, 150_000)) + np.cumsum(plan.integers(5, 80, k + 1))
            boxes = plan.integers(1, 4, k + 1)
            names = [
                f"{pid:04d}_c{cam}s{seq}_{int(f):06d}_{int(b):02d}.jpg"
                for f, b in zip(frames, boxes, strict=True)
            ]
            q = int(plan.integers(0, k + 1))  # which of the k+1 images is the query
            paths = []
            for i, name in enumerate(names):
                if i == q:
                    if not is_test:
                        continue
                    paths.append(query / name)
                else:
                    paths.append((test if is_test else train) / name)
            ctx.tracklet(paths, app, ctx.camera(cam), ("market", pid, cam), occlusion=0.15, gap=6)
    used: set[str] = set()

    def fresh_name(prefix: str) -> str:
        while True:
            cam, seq = int(plan.integers(1, 7)), int(plan.integers(1, 7))
            name = f"{prefix}_c{cam}s{seq}_{int(plan.integers(1, 150_000)):06d}_"
            name += f"{int(plan.integers(1, 9)):02d}.jpg"
            if name not in used:
                used.add(name)
                return name

    for i in range(max(4, n)):  # distractors: other people, often badly framed, or clutter
        name = fresh_name("0000")
        cam = ctx.camera(int(name[6]))
        if plan.random() < 0.7:
            ctx.tracklet(
                [test / name], ctx.appearance("distractor", i), cam, ("d", i), occlusion=0.4
            )
        else:
            ctx.tracklet([test / name], None, cam, ("d", i))
    for i in range(max(4, n // 2)):  # junk: bad crops and background
        name = fresh_name("-1")
        ctx.tracklet([test / name], None, ctx.camera(int(name[4])), ("junk", i))
