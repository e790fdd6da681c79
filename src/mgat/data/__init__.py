"""Datasets: readers in their real on-disk layouts, splits, preparation and synthesis."""

from mgat.data.base import DatasetSplit, Item, ReidDataset
from mgat.data.registry import DATASETS, dataset_class, open_dataset

__all__ = ["DATASETS", "DatasetSplit", "Item", "ReidDataset", "dataset_class", "open_dataset"]
