"""The splits file: which persons train and which test, per split, and where that came from.

Every rule after data preparation reads ``{results}/splits/{dataset}.json`` instead of deriving
the splits again, so a run is pinned to one recorded split definition.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mgat import __version__
from mgat.data.base import DatasetSplit
from mgat.data.registry import dataset_folder, dataset_info, open_dataset
from mgat.errors import ConfigError, DataError
from mgat.io import check_outputs, write_json_atomic

FORMAT_VERSION = 1


def check_splits(dataset: str, splits: list[dict[str, Any]], source: str) -> None:
    """Refuse splits that cannot be a train/test protocol: an empty side, a person twice, or
    a person on both sides. Caught when the splits are made, not three rules later."""
    if not splits:
        raise DataError(f"{dataset}: {source} holds no splits; the split source is incomplete")
    for index, split in enumerate(splits):
        where = f"{dataset}: split {index} of {source}"
        for side in ("train", "test"):
            persons = split.get(side)
            if not persons:
                raise DataError(f"{where} has no {side} persons; the split source is incomplete")
            if len(set(persons)) != len(persons):
                raise DataError(f"{where} lists a {side} person twice; get the split source again")
        both = sorted(set(split["train"]) & set(split["test"]))
        if both:
            raise DataError(
                f"{where} puts persons {both[:5]} in both train and test; the split source is "
                "not the official one"
            )


def make_splits(dataset: str, root: str | Path, seed: int = 0) -> dict[str, Any]:
    """Derive the splits of ``dataset`` under ``root`` as a JSON-ready record."""
    reader = open_dataset(dataset, root)
    derived = reader.make_splits(seed=seed)
    check_splits(dataset, derived["splits"], derived["source"])
    return {
        "format": FORMAT_VERSION,
        "dataset": dataset,
        "mgat_version": __version__,
        "num_splits": len(derived["splits"]),
        **derived,
    }


def write_splits(dataset: str, root: str | Path, out: str | Path, seed: int = 0) -> dict[str, Any]:
    """Derive the splits and write them to ``out`` atomically; return the record."""
    check_outputs({"splits output": out}, folders={"dataset folder": dataset_folder(dataset, root)})
    record = make_splits(dataset, root, seed=seed)
    write_json_atomic(out, record)
    return record


def read_splits(path: str | Path, dataset: str | None = None) -> dict[str, Any]:
    """Read a splits file, checking that it is one and belongs to ``dataset``."""
    path = Path(path)
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"splits file {path} not found; generate it with the splits rule") from None
    except ValueError as err:
        raise DataError(
            f"splits file {path} is not valid JSON ({err}); delete it and rerun"
        ) from err
    if not isinstance(record, dict) or record.get("format") != FORMAT_VERSION:
        raise DataError(f"{path} is not a splits file of this version; delete it and rerun")
    if dataset is not None and record.get("dataset") != dataset:
        raise DataError(f"{path} holds the splits of {record.get('dataset')!r}, not {dataset!r}")
    return record


def select_split(record: dict[str, Any], index: int) -> dict[str, Any]:
    """Split ``index`` of a splits record, with a clear error when out of range."""
    count = len(record["splits"])
    if not 0 <= index < count:
        raise ConfigError(
            f"{record['dataset']}: split {index} out of range; it has {count} split(s), "
            f"use 0..{count - 1}"
        )
    return record["splits"][index]


def load_split(
    dataset: str,
    root: str | Path,
    splits_file: str | Path,
    split: int,
    protocol: str = "torchreid",
) -> DatasetSplit:
    """Train, query and gallery of split ``split`` of the splits file, after checking that the
    data under ``root`` is still the data the file was derived from.

    The splits file records the SHA-256 of its source (the official split file, the kit's
    tables or the image names); recomputing it here catches data replaced or re-extracted
    after the splits were written, which would otherwise change the sets silently.
    """
    record = read_splits(splits_file, dataset)
    reader = open_dataset(dataset, root)
    current = reader.make_splits(seed=record.get("seed") or 0)
    if current["sha256"] != record.get("sha256"):
        raise DataError(
            f"{dataset}: the data under {root} changed after {splits_file} was written (its "
            f"source {current['source']} now has SHA-256 {current['sha256'][:12]}..., the "
            f"splits file recorded {str(record.get('sha256'))[:12]}...); restore the data, or "
            "delete the splits file and rerun everything after it"
        )
    data = reader.load(select_split(record, split), protocol=protocol)
    for side in ("train", "query", "gallery"):
        if not getattr(data, side):
            raise DataError(
                f"{dataset}: split {split} has an empty {side} set under {root}; the data is "
                "incomplete"
            )
    return data


def split_test_sets(
    dataset: str, root: str | Path, splits_file: str | Path, split: int, protocol: str
) -> DatasetSplit:
    """The split's query and gallery as one extraction holds them: MARS's kit gallery holds every
    test tracklet and serves both protocols (torchreid's is the same minus the queries)."""
    loaded = "official" if dataset_info(dataset).query_in_kit_gallery else protocol
    return load_split(dataset, root, splits_file, split, protocol=loaded)
