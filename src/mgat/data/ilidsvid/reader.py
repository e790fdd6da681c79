"""iLIDS-VID (Wang et al., ECCV 2014): 300 persons, one tracklet in each of two cameras.

Layout: ``ilids-vid/i-LIDS-VID/sequences/cam{1,2}/personNNN/*.png`` and the official splits
``ilids-vid/train-test people splits/train_test_splits_ilidsvid.mat`` (``ls_set``: 10 rows, each a
permutation of 1-based indices into the sorted person folders; first half test, second half
train). Query is the test persons' cam1 tracklets, gallery their cam2 tracklets.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mgat.data.base import DatasetSplit, ReidDataset, require_dir
from mgat.data.ilidsvid import INFO
from mgat.data.matfile import read_mat_array
from mgat.data.twocamera import (
    person_folders,
    splits_from_ls_set,
    two_camera_split,
)
from mgat.digest import sha256_file
from mgat.errors import DataError


class IlidsVid(ReidDataset):
    """iLIDS-VID: 300 persons walking through an airport arrival hall, seen by two cameras.

    Source: Wang, Gong, Zhu and Wang, "Person Re-identification by Video Ranking", ECCV 2014;
    data (``iLIDS-VID.tar``, the splits included) from
    http://www.eecs.qmul.ac.uk/~xiatian/downloading.html.

    Statistics: 300 identities, 2 non-overlapping cameras, 600 tracklets (one per person and
    camera) of 23 to 192 frames, 42,495 frames in all. Protocol: the 10 official splits, each 150
    training and 150 test persons; query the test persons' cam1 tracklets, gallery their cam2
    tracklets (150 each).
    """

    info = INFO
    cameras = ("cam1", "cam2")

    def check_layout(self) -> None:
        sequences = require_dir(self.dataset_dir / "i-LIDS-VID" / "sequences", self.name, "data")
        self.camera_dirs = tuple(require_dir(sequences / c, self.name, c) for c in self.cameras)
        splits_dir = self.dataset_dir / "train-test people splits"
        self.split_file = splits_dir / "train_test_splits_ilidsvid.mat"

    def persons(self) -> list[str]:
        """Person folder names in sorted order, which the official split indices refer to."""
        cam1 = person_folders(self.camera_dirs[0], self.name)
        cam2 = set(person_folders(self.camera_dirs[1], self.name))
        missing = [p for p in cam1 if p not in cam2]
        extra = sorted(cam2 - set(cam1))
        if missing or extra:
            raise DataError(
                f"{self.name}: persons {(missing + extra)[:5]} lack a tracklet in one of the two "
                "cameras; the data is incomplete, extract the archive again"
            )
        return cam1

    def make_splits(self, seed: int = 0) -> dict[str, Any]:
        ls_set = read_mat_array(self.split_file, "ls_set", self.name)
        return {
            "source": str(Path("train-test people splits") / self.split_file.name),
            "sha256": sha256_file(self.split_file),
            "seed": None,
            "splits": splits_from_ls_set(ls_set, self.persons(), self.name, self.split_file),
        }

    def load(self, split: dict[str, Any], protocol: str = "torchreid") -> DatasetSplit:
        return two_camera_split(self.name, self.camera_dirs, split)
