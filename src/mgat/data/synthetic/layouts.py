"""Synthetic iLIDS-VID, PRID2011, MARS and Market-1501 in each real dataset's on-disk layout.

:func:`synthesize` validates its arguments, writes one dataset into a temporary folder inside
``out`` and renames it to ``out/<folder>`` at the end (removing the temporary folder on any
error). Every image is a pure function of ``(seed, dataset, what it shows)``, so the same
arguments give byte-identical files: PNG and JPEG are saved with fixed parameters and no
metadata, and the MATLAB header's creation time is replaced by a fixed text. Frames of a tracklet
are written in a shuffled order so that readers must sort them.

Details beyond the layouts themselves (what a reader may rely on):

* market1501: ``2 * ids`` pids drawn from 1..1501, half train, half test; each pid in 2-4 of the
  6 cameras with 2-4 gallery images per camera (one sequence ``s`` per pid and camera, increasing
  frame numbers), plus one separate query image per (test pid, camera). ``bounding_box_test``
  also holds ``max(4, ids)`` distractors (pid ``0000``) and ``max(4, ids // 2)`` junk images
  (pid ``-1``). ``Thumbs.db`` sits in the train, test and query folders.
* mars: ``2 * ids`` pids drawn from 1..1500, half train, half test; each pid in 2-4 cameras.
  A train pid has one tracklet per camera, or two (always for the first pid, else with
  probability 0.25); a test pid has 2-3 per camera, so that after one per camera becomes a query
  the torchreid gallery (test minus query) still holds its cross-camera matches.
  Tracklet numbers ``T`` count per (pid, camera) from 1; frames ``F`` count from 001. The
  test table adds ``max(2, ids // 4)`` distractor (pid 0) and as many junk (pid -1) tracklets,
  their ``T`` counting per camera. Queries: for each test pid with tracklets in 2 or more
  cameras (all of them here), one randomly chosen tracklet per camera; ``query_IDX`` is sorted.
  With ``min_frames`` left at its default, about 12% of tracklets (and at least one of length 1
  and one of length 2 per split) are 1-2 frames long; with an explicit ``min_frames`` every
  tracklet respects ``[min_frames, max_frames]``.
* ilidsvid: person numbers: ``ids`` distinct numbers from ``1..ids + max(2, ids // 8)``
  (so there are gaps); every person in both cameras; frame numbers run consecutively from a
  start in 2..3000.
* prid2011: frames of normal persons in ``[max(min, 27), max]``; "short" persons (about 10% of
  the shared ones, at least 1, their number adjusted so that the number of qualifying persons
  is even) have ``[min, min(max, 26, max(min, 20))]`` frames in cam_a, cam_b or both. Defaults
  ``min=8, max=40`` give 27..40 and 8..20. With ``min_frames >= 27`` no person can be short (a
  warning is logged); with ``max_frames < 27`` no person qualifies and a split file cannot be
  written (ConfigError). ``max(2, ids // 8)`` extra persons 201.. in cam_a and twice as many in
  cam_b, a different person in each camera. Split files use the sorted qualifying names, the
  last one dropped if their number is odd; the first half of each permutation is the test set.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import tempfile
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

from mgat.data.synthetic.people import (
    Appearance,
    Camera,
    random_appearance,
    random_camera,
    random_occluder,
    render_junk,
    render_person,
    walk,
)
from mgat.errors import ConfigError
from mgat.io import dir_mode

logger = logging.getLogger(__name__)

__all__ = ["DATASETS", "FOLDERS", "synthesize"]

DATASETS = ("ilidsvid", "prid2011", "mars", "market1501")
#: The dataset's own folder under ``out`` (torchreid's names).
FOLDERS = {
    "ilidsvid": "ilids-vid",
    "prid2011": "prid2011",
    "mars": "mars",
    "market1501": "market1501",
}
SPLIT_FILES = ("json", "mat")
#: PRID2011's split rule keeps persons with at least this many frames in both cameras.
PRID_MIN_FRAMES = 27
THUMBS_DB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


@dataclass(frozen=True)
class _Limits:
    ids: int  # default number of identities
    ids_min: int
    ids_max: int
    even: bool  # the identity count must be even (iLIDS-VID's halves)
    frames: tuple[int, int] | None  # default tracklet length range (None: image dataset)
    frames_max: int  # largest tracklet length the file names can hold


LIMITS = {
    "market1501": _Limits(ids=12, ids_min=4, ids_max=700, even=False, frames=None, frames_max=0),
    "mars": _Limits(ids=8, ids_min=4, ids_max=700, even=False, frames=(2, 8), frames_max=999),
    "ilidsvid": _Limits(ids=16, ids_min=4, ids_max=900, even=True, frames=(8, 16), frames_max=9000),
    "prid2011": _Limits(
        ids=16, ids_min=4, ids_max=200, even=False, frames=(8, 40), frames_max=9999
    ),
}


def _key(value: object) -> int:
    if isinstance(value, str):
        return zlib.crc32(value.encode())
    return int(value) & 0xFFFFFFFFFFFFFFFF  # type: ignore[call-overload]


@dataclass
class _Ctx:
    """What every writer needs: seeding, cameras, identities, saving, counting."""

    dataset: str
    seed: int
    size: tuple[int, int]  # (height, width)
    ext: str  # ".png" or ".jpg"
    files: int = 0
    _cameras: dict[object, Camera] = field(default_factory=dict)

    def rng(self, *keys: object) -> np.random.Generator:
        return np.random.default_rng([self.seed, _key(self.dataset), *map(_key, keys)])

    def camera(self, key: object) -> Camera:
        if key not in self._cameras:
            self._cameras[key] = random_camera(self.rng("camera", key))
        return self._cameras[key]

    def appearance(self, *keys: object) -> Appearance:
        return random_appearance(self.rng("appearance", *keys))

    def save(self, img: Image.Image, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.ext == ".png":
            img.save(path, format="PNG", compress_level=6)
        else:
            img.save(path, format="JPEG", quality=92, subsampling=2)
        self.files += 1

    def tracklet(
        self,
        paths: Sequence[Path],
        app: Appearance | None,
        cam: Camera,
        key: tuple,
        *,
        occlusion: float = 0.2,
        gap: float = 1.0,
    ) -> None:
        """Render one walk into ``paths`` (in a shuffled order); ``app=None`` draws junk."""
        rng = self.rng("tracklet", *key)
        poses = walk(rng, len(paths), gap=gap)
        occluder = random_occluder(rng) if rng.random() < occlusion else None
        frame_rngs = rng.spawn(len(paths))
        for i in rng.permutation(len(paths)):
            if app is None:
                img = render_junk(cam, self.size, frame_rngs[i])
            else:
                img = render_person(app, cam, self.size, poses[i], occluder, frame_rngs[i])
            self.save(img, paths[i])


def _savemat(path: Path, key: str, array: np.ndarray, dtype: type = np.float64) -> None:
    """``scipy.io.savemat`` with a fixed header text (the default one holds the time).

    ``dtype`` is the class the official file stores, so code that indexes with the loaded
    array (as torchreid's MARS reader does) behaves as on the real file.
    """
    buf = io.BytesIO()
    scipy.io.savemat(buf, {key: np.asarray(array, dtype=dtype)}, do_compression=False)
    data = bytearray(buf.getvalue())
    data[:116] = b"MATLAB 5.0 MAT-file, written by mgat.data.synthetic".ljust(116, b" ")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data))


# --------------------------------------------------------------------------- Market-1501


def _write_market(ctx: _Ctx, root: Path, n: int, **_: object) -> None:
    base = root / "Market-1501-v15.09.15"
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


# --------------------------------------------------------------------------------- MARS


def _mars_pid(pid: int) -> str:
    return "00-1" if pid == -1 else f"{pid:04d}"


def _write_mars(ctx: _Ctx, root: Path, n: int, lo: int, hi: int, short: bool, **_: object) -> None:
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
                for _ in range(extra):
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
        _savemat(info / f"tracks_{split}_info.mat", f"track_{split}_info", np.array(rows), np.int32)
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
            _savemat(info / "query_IDX.mat", "query_IDX", queries_row, np.uint16)


# ---------------------------------------------------------------------------- iLIDS-VID


def _write_ilids(ctx: _Ctx, root: Path, n: int, lo: int, hi: int, **_: object) -> None:
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
    ls_set = np.stack([plan.permutation(n) + 1 for _ in range(10)])
    _savemat(root / "train-test people splits" / "train_test_splits_ilidsvid.mat", "ls_set", ls_set)


# ----------------------------------------------------------------------------- PRID2011


def _prid_ranges(lo: int, hi: int) -> tuple[tuple[int, int], tuple[int, int] | None]:
    """(normal range, short range or None) of PRID tracklet lengths for the range [lo, hi]."""
    normal = (max(lo, PRID_MIN_FRAMES), hi) if hi >= PRID_MIN_FRAMES else (lo, hi)
    if lo >= PRID_MIN_FRAMES or hi < PRID_MIN_FRAMES:
        return normal, None
    return normal, (lo, min(hi, PRID_MIN_FRAMES - 1, max(lo, 20)))


def _write_prid(
    ctx: _Ctx, root: Path, n: int, lo: int, hi: int, split_file: str | None, **_: object
) -> None:
    plan = ctx.rng("plan")
    normal, short = _prid_ranges(lo, hi)
    n_short = 0
    if short is not None:
        n_short = max(1, round(0.1 * n))
        n_short += (n - n_short) % 2  # an even number of qualifying persons
    elif hi >= PRID_MIN_FRAMES:
        logger.warning("prid2011: min_frames >= %d, so no person is too short", PRID_MIN_FRAMES)
    short_persons = set((plan.choice(n, n_short, replace=False) + 1).tolist())

    base = root / "prid_2011"
    lengths: dict[str, dict[int, int]] = {"a": {}, "b": {}}
    for person in range(1, n + 1):
        short_cams = ""
        if person in short_persons and short is not None:
            short_cams = str(plan.choice(["a", "b", "ab"]))
        for cam in "ab":
            rng_range = short if cam in short_cams else normal
            lengths[cam][person] = int(plan.integers(rng_range[0], rng_range[1] + 1))  # type: ignore[index]
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
        if min(lengths["a"][p], lengths["b"][p]) >= PRID_MIN_FRAMES
    ]
    qualifying = qualifying[: len(qualifying) // 2 * 2]
    nq = len(qualifying)
    if split_file == "json":
        splits = []
        for _ in range(10):
            perm = plan.permutation(nq)
            splits.append(
                {
                    "train": sorted(qualifying[i] for i in perm[nq // 2 :]),
                    "test": sorted(qualifying[i] for i in perm[: nq // 2]),
                }
            )
        (root / "splits_prid2011.json").write_text(json.dumps(splits, indent=2) + "\n")
    elif split_file == "mat":
        ls_set = np.stack([plan.permutation(nq) + 1 for _ in range(10)])
        _savemat(root / "train_test_splits_prid.mat", "ls_set", ls_set)


# ------------------------------------------------------------------------------ driver

WRITERS = {
    "market1501": _write_market,
    "mars": _write_mars,
    "ilidsvid": _write_ilids,
    "prid2011": _write_prid,
}
FORMATS = {
    "market1501": ((128, 64), ".jpg"),
    "mars": ((256, 128), ".jpg"),
    "ilidsvid": ((128, 64), ".png"),
    "prid2011": ((128, 64), ".png"),
}


def _int_arg(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    return int(value)


def _frame_range(dataset: str, min_frames: int | None, max_frames: int | None) -> tuple[int, int]:
    limits = LIMITS[dataset]
    assert limits.frames is not None
    lo_default, hi_default = limits.frames
    lo = lo_default if min_frames is None else _int_arg("min_frames", min_frames)
    hi = hi_default if max_frames is None else _int_arg("max_frames", max_frames)
    if max_frames is None:
        hi = max(hi, lo)
    if min_frames is None:
        lo = min(lo, hi)
    if not 1 <= lo <= hi <= limits.frames_max:
        raise ConfigError(
            f"{dataset}: frame range min_frames={lo}, max_frames={hi} is invalid; need "
            f"1 <= min_frames <= max_frames <= {limits.frames_max}"
        )
    return lo, hi


def synthesize(
    dataset: str,
    out: str | Path,
    *,
    ids: int | None = None,
    seed: int = 0,
    min_frames: int | None = None,
    max_frames: int | None = None,
    split_file: str | None = None,
) -> Path:
    """Write dataset `dataset` ("ilidsvid" | "prid2011" | "mars" | "market1501") under root `out`
    (the folder that will HOLD the dataset's own folder), return the path of the dataset's own
    folder.

    ``ids``: identities (market1501/mars: train identities, as many test ones; ilidsvid and
    prid2011: persons in both cameras); ``min_frames``/``max_frames``: tracklet lengths of the
    video datasets (ignored for market1501); ``split_file``: prid2011 only, "json", "mat" or
    None. Raises ConfigError for an unknown dataset, an invalid value or an existing target.
    """
    if dataset not in WRITERS:
        raise ConfigError(f"unknown dataset {dataset!r}; choose one of {', '.join(DATASETS)}")
    limits = LIMITS[dataset]
    seed = _int_arg("seed", seed)
    if seed < 0:
        raise ConfigError(f"seed must be >= 0, got {seed}")
    n = limits.ids if ids is None else _int_arg("ids", ids)
    if not limits.ids_min <= n <= limits.ids_max or (limits.even and n % 2):
        even = "an even number " if limits.even else ""
        raise ConfigError(
            f"{dataset}: ids={n} is invalid; need {even}from {limits.ids_min} to {limits.ids_max}"
        )
    if split_file is not None and dataset != "prid2011":
        raise ConfigError(f"split_file is only for prid2011; leave it unset for {dataset}")
    if split_file is not None and split_file not in SPLIT_FILES:
        raise ConfigError(f"split_file={split_file!r} is invalid; choose 'json', 'mat' or None")
    params: dict[str, object] = {"n": n, "split_file": split_file}
    if limits.frames is not None:
        lo, hi = _frame_range(dataset, min_frames, max_frames)
        params.update(lo=lo, hi=hi, short=min_frames is None)
        if split_file is not None and hi < PRID_MIN_FRAMES:
            raise ConfigError(
                f"prid2011: max_frames={hi} leaves no person with {PRID_MIN_FRAMES} frames in "
                f"both cameras, so there is nothing to split; raise max_frames or drop split_file"
            )
    elif min_frames is not None or max_frames is not None:
        logger.debug("%s: min_frames/max_frames ignored for an image dataset", dataset)

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    folder = FOLDERS[dataset]
    target = out / folder
    if target.exists():
        raise ConfigError(f"{target} exists; remove it first")
    size, ext = FORMATS[dataset]
    ctx = _Ctx(dataset=dataset, seed=seed, size=size, ext=ext)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{folder}-", dir=out))
    try:
        WRITERS[dataset](ctx, tmp, **params)  # type: ignore[operator]
        tmp.chmod(dir_mode())  # mkdtemp's 0700 would hide the dataset from the user's group
        if target.exists():  # written meanwhile by someone else
            raise ConfigError(f"{target} exists; remove it first")
        os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info(
        "synthesised %s: %d images in %s (%.1f s)",
        dataset,
        ctx.files,
        target,
        time.perf_counter() - started,
    )
    return target
