"""Datasets: readers in their real on-disk layouts, splits, preparation and synthesis.

Each dataset is a package here (``mgat.data.mars``, ...) whose ``INFO`` the registry lists.
"""

from mgat.data.base import DatasetSplit, Item, ReidDataset
from mgat.data.info import DatasetInfo
from mgat.data.registry import DATASETS, dataset_class, dataset_info, open_dataset, register

__all__ = [
    "DATASETS",
    "DatasetInfo",
    "DatasetSplit",
    "Item",
    "ReidDataset",
    "dataset_class",
    "dataset_info",
    "open_dataset",
    "register",
]
