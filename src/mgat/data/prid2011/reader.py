"""PRID2011 (Hirzer et al., SCIA 2011): two cameras; persons 1-200 appear in both.

Layout: ``prid2011/prid_2011/multi_shot/cam_{a,b}/person_NNNN/NNNN.png``; query is camera A,
gallery camera B. The splits come from the first of these sources that exists:

1. ``prid2011/splits_prid2011.json``: torchreid's 10 ``{"train": [...], "test": [...]}``;
2. ``train_test_splits_prid.mat`` (``ls_set``, 10 x 178, shipped inside the iLIDS-VID archive),
   in ``prid2011/`` or in ``ilids-vid/train-test people splits/`` beside it; its entries are
   1-based indices into the sorted qualifying persons (see 3), or, if they are exactly the
   qualifying person numbers, those numbers;
3. derived: the persons among 1-200 with at least 27 frames in both cameras (178 on the real
   data), split 10 times in halves with a fixed, recorded seed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from mgat.data.base import DatasetSplit, ReidDataset, list_images, require_dir
from mgat.data.matfile import read_mat_array
from mgat.data.prid2011 import INFO, MIN_FRAMES, SHARED_PERSONS
from mgat.data.twocamera import person_folders, person_number, splits_from_ls_set, two_camera_split
from mgat.digest import sha256_file
from mgat.errors import DataError


class Prid2011(ReidDataset):
    """PRID2011, multi-shot: two static outdoor cameras; persons 1-200 are seen by both.

    Source: Hirzer, Beleznai, Roth and Bischof, "Person Re-Identification by Descriptive and
    Discriminative Classification", SCIA 2011; data (``prid_2011.zip``) from TU Graz's page,
    https://www.tugraz.at/institute/icg/research/team-bischof/lrs/downloads/PRID11/.

    Statistics: 385 persons in camera A, 749 in camera B, 200 of them in both (400 tracklets of
    5 to 675 frames); the video protocol keeps the 178 with at least 27 frames in both cameras.
    Protocol: 10 splits, each 89 training and 89 test persons; query camera A, gallery camera B.
    """

    info = INFO
    cameras = ("cam_a", "cam_b")

    def check_layout(self) -> None:
        multi_shot = require_dir(self.dataset_dir / "prid_2011" / "multi_shot", self.name, "data")
        self.camera_dirs = tuple(require_dir(multi_shot / c, self.name, c) for c in self.cameras)

    def split_source(self) -> Path | None:
        """The split file to use, in order of preference; None means derive the splits."""
        candidates = [
            self.dataset_dir / "splits_prid2011.json",
            self.dataset_dir / "train_test_splits_prid.mat",
            self.root / "ilids-vid" / "train-test people splits" / "train_test_splits_prid.mat",
        ]
        return next((p for p in candidates if p.is_file()), None)

    def frame_counts(self) -> dict[str, tuple[int, int]]:
        """Frames per camera of each person among 1-200 seen by both cameras."""
        cam_a = set(person_folders(self.camera_dirs[0], self.name))
        cam_b = set(person_folders(self.camera_dirs[1], self.name))
        return {
            person: (
                len(list_images(self.camera_dirs[0] / person)),
                len(list_images(self.camera_dirs[1] / person)),
            )
            for person in sorted(cam_a & cam_b)
            if person_number(person) <= SHARED_PERSONS
        }

    def qualifying_persons(self, counts: dict[str, tuple[int, int]] | None = None) -> list[str]:
        """Persons among 1-200 with at least 27 frames in both cameras, sorted."""
        counts = self.frame_counts() if counts is None else counts
        return [p for p, (a, b) in counts.items() if min(a, b) >= MIN_FRAMES]

    def make_splits(self, seed: int = 0) -> dict[str, Any]:
        source = self.split_source()
        if source is None:
            return self._derived_splits(seed)
        read = self._json_splits if source.suffix == ".json" else self._mat_splits
        splits = read(source)
        return {
            "source": str(source.relative_to(self.root)),
            "sha256": sha256_file(source),
            "seed": None,
            "splits": splits,
        }

    def _json_splits(self, source: Path) -> list[dict[str, list[str]]]:
        try:
            content = json.loads(source.read_text())
            splits = [
                {"train": sorted(map(str, s["train"])), "test": sorted(map(str, s["test"]))}
                for s in content
            ]
        except (ValueError, TypeError, KeyError) as err:
            raise DataError(
                f"{self.name}: {source} is not a list of {{'train': [...], 'test': [...]}} "
                f"({type(err).__name__}); fix or delete it to use the next split source"
            ) from err
        if not splits:
            raise DataError(f"{self.name}: {source} holds no splits; fix or delete it")
        known = set(person_folders(self.camera_dirs[0], self.name))
        known &= set(person_folders(self.camera_dirs[1], self.name))
        missing = sorted({p for split in splits for p in split["train"] + split["test"]} - known)
        if missing:
            raise DataError(
                f"{self.name}: {source} names persons {missing[:5]} without a folder in both "
                "cameras; the file does not match the data, fix or delete it"
            )
        return splits

    def _mat_splits(self, source: Path) -> list[dict[str, list[str]]]:
        ls_set = read_mat_array(source, "ls_set", self.name)
        persons = self.qualifying_persons()
        numbers = {person_number(p): p for p in persons}
        values = set(np.asarray(ls_set, dtype=np.int64).ravel().tolist())
        if values == set(numbers) and max(values) > len(persons):
            # The file lists person numbers rather than indices: map them to folder names.
            order = sorted(numbers)
            ls_set = np.vectorize(lambda v: order.index(int(v)) + 1)(ls_set)
        return splits_from_ls_set(ls_set, persons, self.name, source)

    def _derived_splits(self, seed: int) -> dict[str, Any]:
        counts = self.frame_counts()
        persons = self.qualifying_persons(counts)
        if len(persons) < 2:
            raise DataError(
                f"{self.name}: only {len(persons)} persons among 1-{SHARED_PERSONS} have "
                f">= {MIN_FRAMES} frames in both cameras, too few to split; the data is incomplete"
            )
        rng = np.random.default_rng(seed)
        half = len(persons) // 2
        splits = []
        for _ in range(INFO.num_splits):
            order = rng.permutation(len(persons))
            splits.append(
                {
                    "test": sorted(persons[i] for i in order[:half]),
                    "train": sorted(persons[i] for i in order[half:]),
                }
            )
        # The source of derived splits is the frame count of every candidate person.
        digest = hashlib.sha256()
        for person, (frames_a, frames_b) in counts.items():
            digest.update(f"{person} {frames_a} {frames_b}\n".encode())
        return {
            "source": f"derived: persons 1-{SHARED_PERSONS} with >= {MIN_FRAMES} frames per camera",
            "sha256": digest.hexdigest(),
            "seed": seed,
            "splits": splits,
        }

    def load(self, split: dict[str, Any], protocol: str = "torchreid") -> DatasetSplit:
        return two_camera_split(self.name, self.camera_dirs, split)
