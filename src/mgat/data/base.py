"""The dataset contract shared by every reader.

A reader only reads: it checks the layout under ``root`` (the folder that holds the dataset's own
folder, as in torchreid), derives the evaluation splits from the dataset's official files, and
turns one split into train, query and gallery lists. Downloading and synthesis live elsewhere.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, NamedTuple

from mgat.data.info import DatasetInfo
from mgat.errors import DataError

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp"})


class Item(NamedTuple):
    """One sample: an image path (image datasets) or a sorted tuple of frame paths (video)."""

    paths: str | tuple[str, ...]
    pid: int
    camid: int


@dataclass(frozen=True)
class DatasetSplit:
    """Train, query and gallery sets of one evaluation split."""

    train: list[Item]
    query: list[Item]
    gallery: list[Item]


class ReidDataset(abc.ABC):
    """Base class of the dataset readers; ``info`` holds the dataset's facts (its package's
    ``INFO``, see :mod:`mgat.data.info`)."""

    info: ClassVar[DatasetInfo]

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def folder(self) -> str:
        """The dataset's own folder under ``root`` (torchreid's name)."""
        return self.info.folder

    @property
    def source_page(self) -> str:
        """Where a user gets the data, for error messages."""
        return self.info.source_page

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.dataset_dir = self.root / self.folder
        if not self.dataset_dir.is_dir():
            raise DataError(
                f"{self.name}: folder {self.dataset_dir} not found; place the dataset there "
                f"(see {self.source_page}) or pass the folder that holds '{self.folder}' as root"
            )
        self.check_layout()

    @abc.abstractmethod
    def check_layout(self) -> None:
        """Raise DataError when the on-disk layout is not the dataset's real one."""

    @abc.abstractmethod
    def make_splits(self, seed: int = 0) -> dict[str, Any]:
        """Derive the evaluation splits from the dataset's official files.

        Returns ``{"source": str, "sha256": str, "seed": int | None, "splits": [{"train": [...],
        "test": [...]}, ...]}`` where the lists hold person identifiers (folder names for
        iLIDS-VID and PRID2011, integer person ids for MARS and Market1501).
        """

    @abc.abstractmethod
    def load(self, split: dict[str, Any], protocol: str = "torchreid") -> DatasetSplit:
        """Build train, query and gallery for one split as produced by :meth:`make_splits`."""


def require_dir(path: Path, dataset: str, what: str) -> Path:
    """Return ``path`` if it is a folder, else raise a DataError naming what is missing."""
    if not path.is_dir():
        raise DataError(
            f"{dataset}: {what} folder {path} not found; the dataset layout is incomplete, "
            "re-extract the archive or regenerate the synthetic data"
        )
    return path


def require_file(path: Path, dataset: str, what: str) -> Path:
    """Return ``path`` if it is a file, else raise a DataError naming what is missing."""
    if not path.is_file():
        raise DataError(
            f"{dataset}: {what} {path} not found; the dataset layout is incomplete, "
            "re-extract the archive or regenerate the synthetic data"
        )
    return path


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted by name; other files are ignored."""
    return sorted(
        (p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()),
        key=lambda p: p.name,
    )


def relabel(items: list[Item]) -> list[Item]:
    """Map the person ids of ``items`` to 0..n-1 in sorted order of the original ids."""
    mapping = {pid: label for label, pid in enumerate(sorted({it.pid for it in items}))}
    return [Item(it.paths, mapping[it.pid], it.camid) for it in items]
