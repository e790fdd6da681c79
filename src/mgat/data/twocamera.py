"""What iLIDS-VID and PRID2011 share: one tracklet per person and camera, in person folders."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mgat.data.base import DatasetSplit, Item, list_images
from mgat.errors import DataError


def person_folders(camera_dir: Path, dataset: str) -> list[str]:
    """Names of the person folders in ``camera_dir``, sorted; stray files are ignored."""
    names = sorted(p.name for p in camera_dir.iterdir() if p.is_dir())
    if not names:
        raise DataError(
            f"{dataset}: {camera_dir} holds no person folders; the data is incomplete, extract "
            "the archive again"
        )
    return names


def person_number(folder: str) -> int:
    """The person number in a folder name such as ``person001`` or ``person_0001``."""
    digits = re.sub(r"\D", "", folder)
    if not digits:
        raise DataError(f"person folder {folder!r} has no number; expected e.g. person001")
    return int(digits)


def tracklet(folder: Path, dataset: str) -> tuple[str, ...]:
    """The frames of one tracklet, sorted by name."""
    frames = list_images(folder)
    if not frames:
        raise DataError(
            f"{dataset}: tracklet folder {folder} holds no images; the data is incomplete, "
            "extract the archive again"
        )
    return tuple(str(p) for p in frames)


def splits_from_ls_set(
    ls_set: np.ndarray, persons: Sequence[str], dataset: str, source: Path
) -> list[dict[str, list[str]]]:
    """Turn an official ``ls_set`` (rows of 1-based indices into ``persons``) into splits.

    The first half of each row is the test set, the second half the training set.
    """
    if ls_set.ndim != 2 or ls_set.shape[1] < 2:
        raise DataError(
            f"{dataset}: {source}:ls_set has shape {ls_set.shape}, expected rows of person "
            "indices; the split file is not the official one"
        )
    rows = ls_set.astype(np.int64)
    if not np.array_equal(rows, ls_set) or rows.min() < 1 or rows.max() > len(persons):
        raise DataError(
            f"{dataset}: {source}:ls_set refers to persons outside 1..{len(persons)}, the number "
            "of person folders found; the data or the split file is incomplete"
        )
    half = rows.shape[1] // 2
    splits = []
    for row in rows:
        if len(set(row.tolist())) != len(row):
            raise DataError(f"{dataset}: {source}:ls_set has a row with repeated persons")
        splits.append(
            {
                "train": sorted(persons[i - 1] for i in row[half:]),
                "test": sorted(persons[i - 1] for i in row[:half]),
            }
        )
    return splits


def two_camera_split(
    dataset: str, camera_dirs: Sequence[Path], split: dict[str, Any]
) -> DatasetSplit:
    """Train on both cameras of the training persons; query camera 0, gallery camera 1.

    Training ids are relabelled 0..n-1 in sorted order of the person folders; test ids are the
    person numbers of the folder names.
    """
    train_persons = sorted(split["train"])
    test_persons = sorted(split["test"])
    if set(train_persons) & set(test_persons):
        raise DataError(f"{dataset}: the split puts some persons in both train and test")
    for person in train_persons + test_persons:
        for camera_dir in camera_dirs:
            if not (camera_dir / person).is_dir():
                raise DataError(
                    f"{dataset}: split person {person} has no folder {camera_dir / person}; "
                    "the splits file does not match the data, regenerate it"
                )
    train = [
        Item(tracklet(camera_dir / person, dataset), label, camid)
        for label, person in enumerate(train_persons)
        for camid, camera_dir in enumerate(camera_dirs)
    ]
    query = [Item(tracklet(camera_dirs[0] / p, dataset), person_number(p), 0) for p in test_persons]
    gallery = [
        Item(tracklet(camera_dirs[1] / p, dataset), person_number(p), 1) for p in test_persons
    ]
    return DatasetSplit(train=train, query=query, gallery=gallery)
