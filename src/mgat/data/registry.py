"""The datasets mgat knows, by name: the one place a dataset is registered.

A dataset's facts (:class:`mgat.data.info.DatasetInfo`) are read without importing its reader,
so listing them stays light (the workflow reads them with the standard library only); the
reader and the synthetic writer are imported when first used.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mgat.data import ilidsvid, market1501, mars, prid2011
from mgat.data.info import DatasetInfo
from mgat.errors import ConfigError

if TYPE_CHECKING:
    from mgat.data.base import ReidDataset

#: Every registered dataset by name, in the paper's order.
DATASETS: dict[str, DatasetInfo] = {}


def register(info: DatasetInfo) -> DatasetInfo:
    """Add a dataset (its package's ``INFO``); a name can be registered once."""
    if info.name in DATASETS and DATASETS[info.name] != info:
        raise ConfigError(f"dataset {info.name!r} is already registered")
    DATASETS[info.name] = info
    return info


for _package in (ilidsvid, prid2011, mars, market1501):
    register(_package.INFO)


def dataset_info(name: str) -> DatasetInfo:
    """The facts of the dataset registered as ``name``."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ConfigError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}") from None


def paper_table_datasets() -> dict[int, tuple[str, ...]]:
    """The datasets each of the paper's tables reports (``INFO.paper_tables``), in registry
    order: Table 1 (CHI) the three video sets, Tables 2-5 one dataset each."""
    numbers = sorted({n for info in DATASETS.values() for n in info.paper_tables})
    return {n: tuple(d for d, info in DATASETS.items() if n in info.paper_tables) for n in numbers}


def load_object(target: str) -> Any:
    """The object a ``"module:attribute"`` reference names (a reader class, a writer)."""
    module, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module), attribute)


def dataset_class(name: str) -> type[ReidDataset]:
    """The reader class of dataset ``name``."""
    return load_object(dataset_info(name).reader_path)


def dataset_folder(name: str, root: str | Path) -> Path:
    """The dataset's own folder under ``root``: read-only to every command."""
    return Path(root) / dataset_info(name).folder


def open_dataset(name: str, root: str | Path) -> ReidDataset:
    """Open dataset ``name`` under ``root`` (the folder that holds the dataset's own folder)."""
    return dataset_class(name)(root)
