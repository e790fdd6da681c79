"""MARS (Zheng et al., ECCV 2016): 1,261 identities, 6 cameras, automatically detected tracklets.

Layout: ``mars/{bbox_train,bbox_test,info}``. ``info/`` (from the MARS-evaluation kit) holds the
frame name lists and the tracklet tables ``[start, end, pid, camera]`` (1-based, inclusive) plus
``query_IDX`` (1-based rows of the test table). A frame ``0001C1T0001F001.jpg`` lives in the
folder named by its first four characters. Junk tracklets (pid -1) are dropped; distractors
(pid 0) stay in the gallery.

Two gallery protocols: ``torchreid`` (test tracklets not in the query, 9,330 on the real data)
and ``official`` (the MARS kit's: every non-junk test tracklet, queries included, 11,310).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from mgat.data.base import DatasetSplit, Item, ReidDataset, relabel, require_dir, require_file
from mgat.data.mars import INFO
from mgat.data.matfile import read_mat_array
from mgat.errors import ConfigError, DataError
from mgat.vocabulary import PROTOCOLS

_INFO_FILES = (
    "train_name.txt",
    "test_name.txt",
    "tracks_train_info.mat",
    "tracks_test_info.mat",
    "query_IDX.mat",
)


class Mars(ReidDataset):
    """MARS: the video counterpart of Market1501 (same campus, six cameras), its tracklets found
    by a detector and a tracker.

    Source: Zheng, Bie, Sun, Wang, Su, Wang and Tian, "MARS: A Video Benchmark for Large-Scale
    Person Re-identification", ECCV 2016; frames (``bbox_train.zip``, ``bbox_test.zip``) from
    http://www.liangzheng.org/Project/project_mars.html, ``info/`` from the MARS-evaluation kit,
    https://github.com/liangzheng06/MARS-evaluation.

    Statistics: 1,261 identities, 6 cameras, about 1.19 million frames. One fixed split: training
    625 identities, 8,298 tracklets (509,914 frames); test 636 identities, 1,980 query tracklets
    and a gallery of 9,330 (torchreid) or 11,310 (the kit's, queries included), junk (pid -1)
    dropped and distractors (pid 0) kept.
    """

    info = INFO

    def __init__(self, root: str | Path) -> None:
        self._name_cache: dict[str, list[str]] = {}
        super().__init__(root)

    def check_layout(self) -> None:
        for sub in ("bbox_train", "bbox_test", "info"):
            require_dir(self.dataset_dir / sub, self.name, sub)
        for name in _INFO_FILES:
            require_file(self.dataset_dir / "info" / name, self.name, "info file")

    def _names(self, which: str) -> list[str]:
        """The frame names of ``{which}_name.txt``, read once per reader (up to 680,000)."""
        if which not in self._name_cache:
            path = self.dataset_dir / "info" / f"{which}_name.txt"
            lines = path.read_text().splitlines()
            self._name_cache[which] = [line.strip() for line in lines if line.strip()]
        return self._name_cache[which]

    def _table(self, which: str) -> np.ndarray:
        path = self.dataset_dir / "info" / f"tracks_{which}_info.mat"
        table = read_mat_array(path, f"track_{which}_info", self.name)
        if table.ndim != 2 or table.shape[1] != 4:
            raise DataError(
                f"{self.name}: {path} holds an array of shape {table.shape}, expected N x 4 rows "
                "[start, end, pid, camera]; get info/ again from the MARS-evaluation kit"
            )
        return table.astype(np.int64)

    def _query_rows(self, n_test: int) -> np.ndarray:
        path = self.dataset_dir / "info" / "query_IDX.mat"
        rows = read_mat_array(path, "query_IDX", self.name).reshape(-1).astype(np.int64) - 1
        if rows.size == 0 or rows.min() < 0 or rows.max() >= n_test:
            raise DataError(
                f"{self.name}: {path} indexes rows outside the {n_test} test tracklets; "
                "info/ files come from different releases, get them again together"
            )
        if len(np.unique(rows)) != rows.size:
            repeated = sorted({int(r) + 1 for r in rows if (rows == r).sum() > 1})
            raise DataError(
                f"{self.name}: {path} lists test rows {repeated[:5]} more than once; a query "
                "would count twice, get info/ again from the MARS-evaluation kit"
            )
        return rows

    def _frames(self, which: str, rows: np.ndarray) -> list[tuple[int, int, list[str]]]:
        """``(pid, camera, sorted frame names)`` of each non-junk tracklet of ``rows``, each
        frame checked to belong to its tracklet's person and camera."""
        names = self._names(which)
        tracklets = []
        for start, end, pid, cam in rows:
            if pid == -1:
                continue  # junk
            if not (1 <= start <= end <= len(names)):
                raise DataError(
                    f"{self.name}: tracklet rows [{start}, {end}] fall outside the {len(names)} "
                    f"names of {which}_name.txt; get info/ again from the MARS-evaluation kit"
                )
            frames = sorted(names[start - 1 : end])
            prefix = f"{pid:04d}C{cam}"  # the person's folder, then its camera
            stray = next((f for f in frames if not f.startswith(prefix)), None)
            if stray is not None:
                raise DataError(
                    f"{self.name}: frame {stray} is listed in a tracklet of person {pid}, "
                    f"camera {cam}; info/ does not belong to these frames"
                )
            tracklets.append((int(pid), int(cam), frames))
        return tracklets

    def _tracklets(self, which: str, rows: np.ndarray) -> list[Item]:
        home = str(self.dataset_dir / f"bbox_{which}")
        return [
            Item(tuple(os.path.join(home, f[:4], f) for f in frames), pid, cam - 1)
            for pid, cam, frames in self._frames(which, rows)
        ]

    def _check_on_disk(self, which: str, tracklets: list[tuple[int, int, list[str]]]) -> None:
        """Refuse a frame the tracklets use but ``bbox_{which}`` lacks (a partial extraction),
        which training or extraction would otherwise meet hours later. One directory listing per
        person folder, not one stat per frame: all 1.2 M frames of MARS in about a second."""
        wanted: dict[str, set[str]] = {}
        for pid, _, frames in tracklets:
            wanted.setdefault(f"{pid:04d}", set()).update(frames)  # _frames checked the prefix
        home = self.dataset_dir / f"bbox_{which}"
        missing: list[str] = []
        for folder in sorted(wanted):
            try:
                with os.scandir(home / folder) as entries:
                    present = {entry.name for entry in entries}
            except OSError:  # the person's folder is missing or unreadable
                present = set()
            missing += [f"{folder}/{frame}" for frame in sorted(wanted[folder] - present)]
        if missing:
            path = home / missing[0]
            total = sum(len(frames) for frames in wanted.values())
            raise DataError(
                f"{self.name}: frame {path} listed in info/{which}_name.txt is missing "
                f"({len(missing)} of its {total} listed frames missing); extract "
                f"bbox_{which}.zip into {self.dataset_dir}"
            )

    def make_splits(self, seed: int = 0) -> dict[str, Any]:
        train = self._table("train")
        test = self._table("test")
        # Refused here, when the splits are written, rather than when a later rule reads them:
        # a repeated or stray query row, a tracklet outside its name list, a frame not on disk.
        self._query_rows(len(test))
        for which, rows in (("train", train), ("test", test)):
            self._check_on_disk(which, self._frames(which, rows))
        digest = hashlib.sha256()
        for name in _INFO_FILES:
            digest.update((self.dataset_dir / "info" / name).read_bytes())
        return {
            "source": "info/{" + ",".join(_INFO_FILES) + "}",
            "sha256": digest.hexdigest(),
            "seed": None,
            "splits": [
                {
                    "train": sorted({int(p) for p in train[:, 2] if p != -1}),
                    "test": sorted({int(p) for p in test[:, 2] if p != -1}),
                }
            ],
        }

    def load(self, split: dict[str, Any], protocol: str = "torchreid") -> DatasetSplit:
        if protocol not in PROTOCOLS:
            raise ConfigError(
                f"{self.name}: unknown gallery protocol {protocol!r}; use one of {PROTOCOLS}"
            )
        train_rows = self._table("train")
        if sorted({int(p) for p in train_rows[:, 2] if p != -1}) != sorted(split["train"]):
            raise DataError(
                f"{self.name}: the splits file does not match info/tracks_train_info.mat; "
                "regenerate the splits (delete the splits file and rerun)"
            )
        test_rows = self._table("test")
        query_idx = self._query_rows(len(test_rows))
        if protocol == "torchreid":
            gallery_rows = np.delete(test_rows, query_idx, axis=0)
        else:
            gallery_rows = test_rows
        return DatasetSplit(
            train=relabel(self._tracklets("train", train_rows)),
            query=self._tracklets("test", test_rows[query_idx]),
            gallery=self._tracklets("test", gallery_rows),
        )
