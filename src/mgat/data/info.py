"""What mgat knows about a dataset, as data: one :class:`DatasetInfo` per dataset.

Each dataset is a package ``mgat.data.<name>``: its ``__init__`` holds the ``INFO`` record (the
standard library only, so that the workflow reads it without torch, numpy or mgat's
dependencies), ``reader.py`` its reader and ``synthetic.py`` its synthetic writer ``write``. The
registry (:mod:`mgat.data.registry`) lists the packages; everything else (the command line,
preparation, synthesis, evaluation, the tables, the workflow's wildcards and split counts) asks
the registry. ``docs/adding-a-dataset.md`` walks through adding one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SyntheticSpec:
    """How the synthetic twin of a dataset is drawn (see :mod:`mgat.data.synthetic`)."""

    size: tuple[int, int]  # (height, width) of every image
    ext: str  # ".png" or ".jpg"
    ids: int  # default number of identities
    ids_min: int
    ids_max: int
    even: bool = False  # the identity count must be even (iLIDS-VID's halves)
    frames: tuple[int, int] | None = None  # default tracklet lengths; None: an image dataset
    frames_max: int = 0  # the longest tracklet the file names can hold
    split_files: tuple[str, ...] = ()  # split-file formats the writer can add ("json", "mat")
    split_min_frames: int = 0  # a split keeps persons with this many frames (PRID2011: 27)


@dataclass(frozen=True)
class DatasetInfo:
    """The facts of one dataset that code outside its package needs."""

    name: str  # the registry key, the workflow's {dataset} and the command line's argument
    label: str  # the name as the paper prints it
    folder: str  # the dataset's own folder under the data root (torchreid's name)
    num_splits: int  # evaluation splits in its splits file (the paper averages over them)
    source_page: str  # where a user gets the data, for error messages
    package: str  # its package (``__name__`` in its ``__init__``): reader.py, synthetic.py
    reader: str  # the class name of its ReidDataset in ``<package>.reader``
    synthetic: SyntheticSpec
    #: Files a user places (or the workflow downloads): config key -> (file name, the folder
    #: it yields inside the dataset's folder).
    placed_files: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    paper_tables: tuple[int, ...] = ()  # the paper's tables that report it (1: CHI)
    #: Its kit defines its own evaluation (MARS, Market1501), reported beside torchreid's.
    kit_protocol: bool = False
    #: Its kit's gallery also holds the query tracklets (MARS; torchreid leaves them out).
    query_in_kit_gallery: bool = False

    @property
    def reader_path(self) -> str:
        """``module:Class`` of the reader."""
        return f"{self.package}.reader:{self.reader}"

    @property
    def writer_path(self) -> str:
        """``module:function`` of the synthetic writer: ``write`` in ``<package>.synthetic``."""
        return f"{self.package}.synthetic:write"

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or self.name != self.name.lower():
            raise ValueError(f"dataset name {self.name!r}: use lower-case letters, digits and _")
        if self.num_splits < 1:
            raise ValueError(f"{self.name}: num_splits must be >= 1, got {self.num_splits}")
