"""Synthetic MARS in the real layout (see :mod:`mgat.data.synthetic`).

``2 * ids`` pids drawn from 1..1500, half train, half test; each pid in 2-4 cameras. A train
pid has one tracklet per camera, or two (always for the first pid, else with probability
0.25); a test pid has 2-3 per camera, so that after one per camera becomes a query the
torchreid gallery (test minus query) still holds its cross-camera matches. Tracklet numbers
``T`` count per (pid, camera) from 1; frames ``F`` count from 001. The test table adds
``max(2, ids // 4)`` distractor (pid 0) and as many junk (pid -1) tracklets, their ``T``
counting per camera. Queries: for each test pid with tracklets in 2 or more cameras (all of
them here), one randomly chosen tracklet per camera; ``query_IDX`` is sorted. With
``min_frames`` left at its default, about 12% of tracklets (and at least one of length 1 and
one of length 2 per split) are 1-2 frames long; with an explicit ``min_frames`` every tracklet
respects ``[min_frames, max_frames]``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mgat.data.synthetic.writing import Context, savemat


def _mars_pid(pid: int) -> str:
    return "00-1" if pid == -1 else f"{pid:04d}"


def write(ctx: Context, root: Path, n: int, lo: int, hi: int, short: bool, **_: object) -> None:
    """Write a synthetic MARS into ``root`` (the dataset's folder)."""
    info = root / "info"
    info.mkdir(parents=True)
    plan = ctx.rng("plan")
    pids = plan.choice(np.arange(1, 1501), 2 * n, replace=False)
    splits = {"train": sorted(pids[:n].tolist()), "test": sorted(pids[n:].tolist())}
    for split, split_pids in splits.items():
        folder = root / f"bbox_{split}"
        folder.mkdir()
        tracklets: list[list[int]] = []  # [pid, cam, t, length]
        for j, pid in enumerate(split_pids):
            n_cams = int(plan.integers(2, 5))
            cams = sorted(plan.choice(np.arange(1, 7), n_cams, replace=False).tolist())
            for c, cam in enumerate(cams):
                if split == "test":
                    # One tracklet per camera becomes a query; the rest must stay in the
                    # torchreid gallery (test minus query) as that query's cross-camera matches.
                    n_tracks = int(plan.integers(2, 4))
                else:
                    n_tracks = 2 if (j == 0 and c == 0) or plan.random() < 0.25 else 1
                tracklets += [[pid, cam, t, 0] for t in range(1, n_tracks + 1)]
        if split == "test":
            extra = max(2, n // 4)
            for pid in (0, -1):
                per_cam: dict[int, int] = {}
                for _extra in range(extra):
                    cam = int(plan.integers(1, 7))
                    per_cam[cam] = per_cam.get(cam, 0) + 1
                    tracklets.append([pid, cam, per_cam[cam], 0])
        for tr in tracklets:
            tr[3] = int(plan.integers(lo, hi + 1))
        if short:
            for tr in tracklets:
                if plan.random() < 0.12:
                    tr[3] = int(plan.integers(1, 3))
            lengths = {tr[3] for tr in tracklets}
            chosen = plan.choice(len(tracklets), 2, replace=False)
            if 1 not in lengths:
                tracklets[chosen[0]][3] = 1
            if 2 not in lengths:
                tracklets[chosen[1]][3] = 2

        names: list[str] = []
        prefix_of: dict[str, tuple[int, int]] = {}
        by_pid_cam: dict[tuple[int, int], list[str]] = {}
        for pid, cam, t, length in tracklets:
            p = _mars_pid(pid)
            prefix = f"{p}C{cam}T{t:04d}"
            prefix_of[prefix] = (pid, cam)
            by_pid_cam.setdefault((pid, cam), []).append(prefix)
            frame_names = [f"{prefix}F{f:03d}.jpg" for f in range(1, length + 1)]
            names += frame_names
            paths = [folder / p / name for name in frame_names]
            cam_obj = ctx.camera(cam)
            key = (split, pid, cam, t)
            if pid > 0:
                ctx.tracklet(paths, ctx.appearance("id", pid), cam_obj, key)
            elif pid == 0:
                ctx.tracklet(
                    paths, ctx.appearance("distractor", cam, t), cam_obj, key, occlusion=0.5
                )
            else:
                ctx.tracklet(paths, None, cam_obj, key)

        names.sort()  # by folder, then name: a name starts with its folder's name
        (info / f"{split}_name.txt").write_text("".join(name + "\n" for name in names))
        rows: list[list[int]] = []
        row_of: dict[str, int] = {}
        for i, name in enumerate(names):
            prefix = name[:11]
            if not rows or prefix != names[i - 1][:11]:
                row_of[prefix] = len(rows)
                rows.append([i + 1, i + 1, *prefix_of[prefix]])
            rows[-1][1] = i + 1
        # The MARS kit stores the track tables as int32 and query_IDX as uint16.
        savemat(info / f"tracks_{split}_info.mat", f"track_{split}_info", np.array(rows), np.int32)
        if split == "test":
            queries = []
            for pid in split_pids:
                cams = sorted(cam for (p, cam) in by_pid_cam if p == pid)
                if len(cams) < 2:
                    continue
                for cam in cams:
                    options = sorted(by_pid_cam[(pid, cam)])
                    queries.append(row_of[options[int(plan.integers(len(options)))]] + 1)
            queries_row = np.array(sorted(queries))[None, :]
            savemat(info / "query_IDX.mat", "query_IDX", queries_row, np.uint16)
