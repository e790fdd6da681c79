"""Synthetic datasets in each real dataset's on-disk layout: what every writer shares.

:func:`synthesize` validates its arguments against the dataset's
:class:`~mgat.data.info.SyntheticSpec`, runs the dataset's writer (``write`` in
``mgat.data.<name>.synthetic``) into a temporary folder inside ``out`` and renames it to
``out/<folder>`` at the end (removing the temporary folder on any error). Every image is a
pure function of ``(seed, dataset, what it shows)``, so the same arguments give byte-identical
files: PNG and JPEG are saved with fixed parameters and no metadata, and the MATLAB header's
creation time is replaced by a fixed text. Frames of a tracklet are written in a shuffled order
so that readers must sort them. What each dataset's writer draws is in its module's docstring.
"""

from __future__ import annotations

import io
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

from mgat.data.registry import dataset_info, load_object
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
from mgat.errors import ConfigError, OutputError
from mgat.io import dir_mode, output_errors

logger = logging.getLogger(__name__)

__all__ = ["THUMBS_DB", "Context", "savemat", "synthesize"]

#: The Windows thumbnail cache that sits in Market1501's folders (readers must skip it).
THUMBS_DB = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


def _key(value: object) -> int:
    if isinstance(value, str):
        return zlib.crc32(value.encode())
    # Keys are str or int-like (Python or numpy ints); typeshed's int() takes no bare object.
    return int(value) & 0xFFFFFFFFFFFFFFFF  # type: ignore[call-overload]


@dataclass
class Context:
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


def savemat(path: Path, key: str, array: np.ndarray, dtype: type = np.float64) -> None:
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


def _int_arg(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    return int(value)


def _frame_range(dataset: str, min_frames: int | None, max_frames: int | None) -> tuple[int, int]:
    limits = dataset_info(dataset).synthetic
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
    """Write the synthetic ``dataset`` under root ``out`` (the folder that will HOLD the
    dataset's own folder) and return the path of the dataset's own folder.

    ``ids``: identities (market1501/mars: train identities, as many test ones; ilidsvid and
    prid2011: persons in both cameras); ``min_frames``/``max_frames``: tracklet lengths of the
    video datasets (ignored for image datasets); ``split_file``: a split-file format the
    dataset's writer can add (prid2011: "json" or "mat"), or None. Defaults and limits come
    from the dataset's :class:`~mgat.data.info.SyntheticSpec`. Raises ConfigError for an
    unknown dataset, an invalid value or an existing target, OutputError when the folder cannot
    be written (nothing of the dataset is left then).
    """
    info = dataset_info(dataset)
    limits = info.synthetic
    seed = _int_arg("seed", seed)
    if seed < 0:
        raise ConfigError(f"seed must be >= 0, got {seed}")
    n = limits.ids if ids is None else _int_arg("ids", ids)
    if not limits.ids_min <= n <= limits.ids_max or (limits.even and n % 2):
        even = "an even number " if limits.even else ""
        raise ConfigError(
            f"{dataset}: ids={n} is invalid; need {even}from {limits.ids_min} to {limits.ids_max}"
        )
    if split_file is not None and split_file not in limits.split_files:
        if not limits.split_files:
            raise ConfigError(f"{dataset} writes no split file; leave split_file unset")
        choices = ", ".join(repr(f) for f in limits.split_files)
        raise ConfigError(f"split_file={split_file!r} is invalid; choose {choices} or None")
    params: dict[str, object] = {"n": n, "split_file": split_file}
    if limits.frames is not None:
        lo, hi = _frame_range(dataset, min_frames, max_frames)
        params.update(lo=lo, hi=hi, short=min_frames is None)
        if split_file is not None and hi < limits.split_min_frames:
            raise ConfigError(
                f"{dataset}: max_frames={hi} leaves no person with {limits.split_min_frames} "
                "frames in every camera, so there is nothing to split; raise max_frames or "
                "drop split_file"
            )
    elif min_frames is not None or max_frames is not None:
        logger.debug("%s: min_frames/max_frames ignored for an image dataset", dataset)
    write = load_object(info.writer_path)

    out = Path(out)
    target = out / info.folder
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out} is a file, not a folder; give the folder that will hold {target}")
    if target.exists():
        raise ConfigError(f"{target} exists; remove it first")
    ctx = Context(dataset=dataset, seed=seed, size=limits.size, ext=limits.ext)
    started = time.perf_counter()
    # A full disk, a read-only folder or a file on the way is one line naming the dataset's
    # folder; nothing of it is left (a killed run leaves only the hidden temporary folder).
    with output_errors(target):
        out.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{info.folder}-", dir=out))
        try:
            write(ctx, tmp, **params)
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
