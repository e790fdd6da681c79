"""Market1501 (Zheng et al., ICCV 2015): 1,501 identities, 6 cameras, one image per sample.

Layout: ``market1501/Market-1501-v15.09.15/{bounding_box_train,query,bounding_box_test}`` with
names ``PPPP_cCsS_FFFFFF_BB.jpg``. As in torchreid and the official kit, junk images (pid -1)
are dropped everywhere and distractors (pid 0) stay in the gallery.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from mgat.data.base import DatasetSplit, Item, ReidDataset, relabel, require_dir
from mgat.data.market1501 import INFO, RELEASE
from mgat.errors import DataError

_NAME = re.compile(r"([-\d]+)_c(\d)")
_SUBSETS = ("bounding_box_train", "query", "bounding_box_test")


class Market1501(ReidDataset):
    """Market1501: images of 1,501 persons in front of a campus supermarket, one image a sample.

    Source: Zheng, Shen, Tian, Wang, Wang and Tian, "Scalable Person Re-identification: A
    Benchmark", ICCV 2015; data (``Market-1501-v15.09.15.zip``) from
    http://www.liangzheng.org/Project/project_reid.html.

    Statistics: 1,501 identities, 6 cameras (5 high-resolution, 1 low), 32,668 boxes found by a
    DPM detector (training and gallery) and 3,368 hand-drawn query boxes. One fixed split:
    training 751 identities, 12,936 images; test 750 identities, 3,368 query images and 19,732
    gallery images, 15,913 once junk (pid -1) is dropped; distractors (pid 0) stay.
    """

    info = INFO

    def check_layout(self) -> None:
        self.data_dir = require_dir(self.dataset_dir / RELEASE, self.name, "release")
        for subset in _SUBSETS:
            require_dir(self.data_dir / subset, self.name, subset)

    def _read(self, subset: str) -> list[Item]:
        items = []
        for path in sorted((self.data_dir / subset).glob("*.jpg")):
            match = _NAME.match(path.name)
            if match is None:
                raise DataError(
                    f"{self.name}: unexpected file name {path}; Market1501 images are named "
                    "PPPP_cCsS_FFFFFF_BB.jpg, remove foreign files from that folder"
                )
            pid, cam = int(match.group(1)), int(match.group(2))
            if pid == -1:
                continue  # junk: ignored by every protocol
            if not (0 <= pid <= 1501 and 1 <= cam <= 6):
                raise DataError(
                    f"{self.name}: {path.name} has person {pid} / camera {cam}, outside 0-1501 / "
                    "1-6; the file is not a Market1501 image"
                )
            items.append(Item(str(path), pid, cam - 1))
        return items

    def _fingerprint(self) -> str:
        """SHA-256 over the sorted image names of the three folders: the split's source."""
        digest = hashlib.sha256()
        for subset in _SUBSETS:
            for path in sorted((self.data_dir / subset).glob("*.jpg")):
                digest.update(f"{subset}/{path.name}\n".encode())
        return digest.hexdigest()

    def _read_nonempty(self, subset: str) -> list[Item]:
        """The images of ``subset``, refusing an empty folder: an empty query or gallery would
        otherwise pass the splits (their persons are in the other test folder) and stop only
        the rules after it."""
        items = self._read(subset)
        if not items:
            folder = self.data_dir / subset
            junk = " (only junk, person -1)" if any(folder.glob("*.jpg")) else ""
            raise DataError(
                f"{self.name}: {subset} folder {folder} holds no images{junk}; the dataset is "
                f"incomplete, re-extract {RELEASE}.zip into {self.dataset_dir}"
            )
        return items

    def make_splits(self, seed: int = 0) -> dict[str, Any]:
        train_items, query, gallery = (self._read_nonempty(subset) for subset in _SUBSETS)
        train = sorted({it.pid for it in train_items})
        test = sorted({it.pid for it in query + gallery})
        return {
            "source": f"{RELEASE}/{{{','.join(_SUBSETS)}}} file names",
            "sha256": self._fingerprint(),
            "seed": None,
            "splits": [{"train": train, "test": test}],
        }

    def load(self, split: dict[str, Any], protocol: str = "torchreid") -> DatasetSplit:
        train = self._read("bounding_box_train")
        if sorted({it.pid for it in train}) != sorted(split["train"]):
            raise DataError(
                f"{self.name}: the splits file does not match the training images under "
                f"{self.data_dir}; regenerate the splits (delete the splits file and rerun)"
            )
        return DatasetSplit(
            train=relabel(train),
            query=self._read("query"),
            gallery=self._read("bounding_box_test"),
        )
