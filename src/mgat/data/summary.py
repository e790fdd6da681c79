"""Counts of a dataset split, the quickest check that a dataset was read as the community does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mgat.data.base import Item
from mgat.data.registry import open_dataset
from mgat.data.splits import load_split, make_splits, select_split


def count_items(items: list[Item]) -> dict[str, int]:
    """Distinct person ids, tracklets (images, for image datasets) and image files."""
    return {
        "ids": len({it.pid for it in items}),
        "tracklets": len(items),
        "images": sum(1 if isinstance(it.paths, str) else len(it.paths) for it in items),
    }


def summarize(
    dataset: str,
    root: str | Path,
    split: int = 0,
    protocol: str = "torchreid",
    splits_file: str | Path | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """The summary object of ``mgat data summary``."""
    if splits_file is not None:
        data = load_split(dataset, root, splits_file, split, protocol=protocol)
    else:
        record = make_splits(dataset, root, seed=seed)
        data = open_dataset(dataset, root).load(select_split(record, split), protocol=protocol)
    return {
        "dataset": dataset,
        "split": split,
        "train": count_items(data.train),
        "query": count_items(data.query),
        "gallery": count_items(data.gallery),
    }
