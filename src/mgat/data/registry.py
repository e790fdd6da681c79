"""Dataset readers by name."""

from __future__ import annotations

from pathlib import Path

from mgat.data.base import ReidDataset
from mgat.data.ilidsvid import IlidsVid
from mgat.data.market1501 import Market1501
from mgat.data.mars import Mars
from mgat.data.prid2011 import Prid2011
from mgat.errors import ConfigError

DATASETS: dict[str, type[ReidDataset]] = {
    cls.name: cls for cls in (IlidsVid, Prid2011, Mars, Market1501)
}


def dataset_class(name: str) -> type[ReidDataset]:
    """The reader class registered as ``name``."""
    try:
        return DATASETS[name]
    except KeyError:
        raise ConfigError(f"unknown dataset {name!r}; valid names: {', '.join(DATASETS)}") from None


def open_dataset(name: str, root: str | Path) -> ReidDataset:
    """Open dataset ``name`` under ``root`` (the folder that holds the dataset's own folder)."""
    return dataset_class(name)(root)
