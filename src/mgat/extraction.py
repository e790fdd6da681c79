"""Feature extraction for evaluation: the trained network's features, no graph.

At test time the paper uses the feature-embedding network alone (Section 4.2). One extraction
stores both candidate test features of every image (``mgat.vocabulary.TEST_FEATURES``): the
pooled trunk feature (``pooled``, where MGAT reads X by default) and the post-BN one (``bn``);
the evaluation scores both and reports the configured one (``evaluation.feature``). A video
tracklet's feature is the mean of its frames' features. Frames of a tracklet are chosen by
``sampling``: ``evenly`` (torchreid's test default: ``seq_len`` frames evenly spaced, short
tracklets padded by repeating their last frame) or ``all``.

Besides the tracklet-level query and gallery features, a features file holds what only
frame-level features can give: the Calinski-Harabasz index of the probe and gallery sets under
each feature (Table 1; with one tracklet per person and camera, iLIDS-VID and PRID2011 have no
tracklet-level clusters to score).
Figure 4's sample of M persons x K frames is chosen and run by :mod:`mgat.figure4`, in its own
jobs, so that its settings do not rerun extractions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm import tqdm

from mgat.data.base import DatasetSplit, Item
from mgat.data.frames import FrameDataset
from mgat.data.leakage import SAME_SPLIT, trained_on
from mgat.data.registry import dataset_folder, dataset_info
from mgat.data.splits import split_test_sets
from mgat.data.transforms import model_input, test_transform
from mgat.digest import sha256_file
from mgat.engine.device import autocast, loader_workers, memory_format, resolve_device
from mgat.featurefile import write_features
from mgat.io import check_outputs, ensure_writable
from mgat.metrics import calinski_harabasz
from mgat.models.reid import ReidNet
from mgat.models.saved import load_saved_model
from mgat.provenance import device_name, environment
from mgat.vocabulary import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_PROTOCOL,
    DEFAULT_SAMPLING,
    DEFAULT_SEQ_LEN,
    SAMPLINGS,
    TEST_FEATURES,
)

log = logging.getLogger(__name__)


def _first_path(item: Item) -> str:
    return item.paths if isinstance(item.paths, str) else item.paths[0]


def select_frames(
    num_frames: int, sampling: str = DEFAULT_SAMPLING, seq_len: int = DEFAULT_SEQ_LEN
) -> np.ndarray:
    """Indices of the frames that represent a tracklet of ``num_frames`` frames at test time.

    ``evenly``: ``seq_len`` frames at a regular stride over the first multiple of ``seq_len``
    frames; a shorter tracklet is padded with its last frame (torchreid's rule). ``all``: every
    frame once.
    """
    if sampling == "all":
        return np.arange(num_frames)
    if sampling != "evenly":
        raise ValueError(f"unknown test frame sampling {sampling!r}; use one of {SAMPLINGS}")
    if num_frames >= seq_len:
        usable = num_frames - num_frames % seq_len
        return np.arange(0, usable, usable // seq_len)
    pads = np.full(seq_len - num_frames, num_frames - 1)
    return np.concatenate([np.arange(num_frames), pads])


class FrameTable(NamedTuple):
    """The frames a set's tracklets are represented by: each distinct frame once (``paths``),
    and per (tracklet, chosen frame) pair the frame's index and its tracklet's."""

    paths: list[str]
    frame_ids: np.ndarray
    owners: np.ndarray


def frame_table(items: Sequence[Item], sampling: str, seq_len: int) -> FrameTable:
    """Unique frame paths to run, and for every (tracklet, chosen frame) pair the frame index
    and the tracklet it pools into (repeats, from padding, weigh in the mean as in torchreid)."""
    paths: list[str] = []
    index_of: dict[str, int] = {}
    frame_ids: list[int] = []
    owners: list[int] = []
    for t, item in enumerate(items):
        frames = (item.paths,) if isinstance(item.paths, str) else item.paths
        for k in select_frames(len(frames), sampling, seq_len):
            path = frames[int(k)]
            if path not in index_of:
                index_of[path] = len(paths)
                paths.append(path)
            frame_ids.append(index_of[path])
            owners.append(t)
    return FrameTable(paths, np.asarray(frame_ids), np.asarray(owners))


#: Batches of features kept on the device between copies to the host: copying each batch back
#: would wait for its forward pass and leave the GPU idle while the next batch is prepared.
FLUSH_EVERY = 32


class FrameFeatures(NamedTuple):
    """Features of a list of frames, and the rate they were computed at."""

    features: dict[str, torch.Tensor]  # TEST_FEATURES -> [frames, d], float32, on the CPU
    frames_per_s: float | None  # in steady state (see frame_features); None: too few batches


def _both_features(model: ReidNet, images: torch.Tensor) -> torch.Tensor:
    """[N, 2, d]: each image's pooled and post-BN feature (TEST_FEATURES order), one pass."""
    pooled = model.embed(images)
    return torch.stack([pooled, model.bn(pooled)], dim=1).float()


@torch.no_grad()
def frame_features(
    model: ReidNet,
    paths: list[str],
    height: int,
    width: int,
    batch_size: int,
    workers: int,
    device: torch.device,
    layout: torch.memory_format,
    desc: str,
) -> FrameFeatures:
    """Pooled and post-BN features of ``paths``, run in batches in the model's ``layout`` (in
    eval mode), and the steady rate: without the first batch of each worker, which waits for
    the loader to start."""
    dataset = FrameDataset([(p, 0, 0) for p in paths], test_transform(height, width))
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        prefetch_factor=4 if workers > 0 and device.type == "cuda" else None,
    )
    chunks: list[torch.Tensor] = []
    pending: list[torch.Tensor] = []
    warm_up = max(workers, 1)  # the loader's start-up: each worker's first batch
    started, counted = time.perf_counter(), 0
    for b, (images, *_rest) in enumerate(tqdm(loader, desc=desc, mininterval=10.0, leave=False)):
        if b == warm_up:
            started = time.perf_counter()
        counted += images.shape[0] if b >= warm_up else 0
        with autocast(device):
            pending.append(_both_features(model, model_input(images, device, layout)))
        if len(pending) == FLUSH_EVERY:
            chunks.append(torch.cat(pending).cpu())
            pending.clear()
    if pending:
        chunks.append(torch.cat(pending).cpu())
    seconds = time.perf_counter() - started
    rate = counted / seconds if counted and seconds > 0 else None
    if rate is not None:
        log.info("%s: %d frames, %.0f frames/s in steady state", desc, len(paths), rate)
    stacked = torch.cat(chunks) if chunks else torch.empty(0, 2, model.feature_dim)
    features = {kind: stacked[:, k].contiguous() for k, kind in enumerate(TEST_FEATURES)}
    return FrameFeatures(features, rate)


def _pool(chosen: torch.Tensor, owners: np.ndarray, n: int) -> np.ndarray:
    """Mean of each tracklet's chosen frame features (``chosen[i]`` belongs to ``owners[i]``)."""
    sums = torch.zeros(n, chosen.shape[1], dtype=chosen.dtype)
    sums.index_add_(0, torch.as_tensor(owners), chosen)
    counts = torch.as_tensor(np.bincount(owners, minlength=n), dtype=chosen.dtype)
    return (sums / counts[:, None]).numpy()


def check_options(sampling: str | None, numbers: dict[str, int]) -> None:
    """Refuse an unknown frame sampling (None: none to check) or a count below one, before
    anything is loaded."""
    if sampling is not None and sampling not in SAMPLINGS:
        raise ValueError(f"unknown test frame sampling {sampling!r}; use one of {SAMPLINGS}")
    for name, value in numbers.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")


class LoadedModel(NamedTuple):
    """A trained model on its device and in its layout, and the input size to feed it."""

    model: ReidNet
    saved: dict[str, Any]
    device: torch.device
    layout: torch.memory_format
    height: int
    width: int


def load_model(
    model_path: str | Path, device: torch.device, height: int | None, width: int | None
) -> LoadedModel:
    """The model in eval mode; ``height`` and ``width`` default to the size it was trained at."""
    model, saved = load_saved_model(model_path)
    layout = memory_format("auto", device)  # channels_last on CUDA
    model = model.to(device=device).to(memory_format=layout).eval()
    trained = saved.get("settings") or {}
    height = int(trained.get("height", 256)) if height is None else height
    width = int(trained.get("width", 128)) if width is None else width
    return LoadedModel(model, saved, device, layout, height, width)


def _checked_training(
    saved: dict[str, Any],
    model_path: str | Path,
    dataset: str,
    split: int,
    splits_sha256: str,
    allow_other_split: bool,
) -> dict[str, Any]:
    """The model's own split and its relation to this one; another split of the same dataset is
    refused unless allowed (its test persons were trained on), anything not the same is logged."""
    trained = trained_on(
        saved,
        dataset=dataset,
        split=split,
        splits_sha256=splits_sha256,
        what=f"model {model_path}",
        allow_other_split=allow_other_split,
    )
    if trained["relation"] != SAME_SPLIT:
        log.warning(
            "%s (trained on split %s of %s) tested on split %d of %s: %s",
            model_path,
            trained["split"],
            trained["dataset"],
            split,
            dataset,
            trained["relation"],
        )
    return trained


def _gallery_in_query(data: DatasetSplit, dataset: str) -> np.ndarray:
    """Gallery items that are queries (MARS's kit gallery holds them; torchreid's leaves them
    out). Elsewhere a gallery item sharing a frame with a query is the data's own: none."""
    if not dataset_info(dataset).query_in_kit_gallery:
        return np.zeros(len(data.gallery), dtype=bool)
    query_firsts = {_first_path(it) for it in data.query}
    return np.asarray([_first_path(it) in query_firsts for it in data.gallery], dtype=bool)


def _set_arrays(
    name: str, items: Sequence[Item], frames: FrameTable, values: dict[str, torch.Tensor]
) -> dict[str, np.ndarray]:
    """One set's tracklet features (the mean of each tracklet's chosen frames) and labels."""
    arrays = {
        f"{name}_pids": np.asarray([it.pid for it in items], dtype=np.int64),
        f"{name}_camids": np.asarray([it.camid for it in items], dtype=np.int64),
        f"{name}_paths": np.asarray([_first_path(it) for it in items]),
    }
    for kind, features in values.items():
        chosen = features[torch.as_tensor(frames.frame_ids)]  # a row per (tracklet, frame)
        arrays[f"{name}_features_{kind}"] = _pool(chosen, frames.owners, len(items))
    return arrays


def _frame_chi(
    items: Sequence[Item], frames: FrameTable, values: dict[str, torch.Tensor], kept: np.ndarray
) -> dict[str, float | None]:
    """CHI of one set's distinct frames under each test feature, over the ``kept`` items (the
    configured protocol's set: torchreid's MARS gallery leaves the queries out). Each distinct
    frame counts once: padding repeats a short tracklet's last frame (and a Market1501 image
    seq_len times), which would inflate the index."""
    pids = np.asarray([it.pid for it in items], dtype=np.int64)
    path_pids = np.empty(len(frames.paths), dtype=np.int64)
    path_pids[frames.frame_ids] = pids[frames.owners]
    path_kept = np.ones(len(frames.paths), dtype=bool)
    path_kept[frames.frame_ids] = kept[frames.owners]
    return {
        kind: calinski_harabasz(features.numpy()[path_kept], path_pids[path_kept])
        for kind, features in values.items()
    }


def extract_features(
    model_path: str | Path,
    *,
    dataset: str,
    root: str | Path,
    splits_file: str | Path,
    split: int,
    out: str | Path,
    protocol: str = DEFAULT_PROTOCOL,
    height: int | None = None,
    width: int | None = None,
    sampling: str = DEFAULT_SAMPLING,
    seq_len: int = DEFAULT_SEQ_LEN,
    batch_size: int = DEFAULT_BATCH_SIZE,
    device: str = "auto",
    threads: int = 1,
    run: int | None = None,
    allow_other_split: bool = False,
) -> dict[str, Any]:
    """Extract query and gallery features of one split with one trained model; save ``out``.

    ``height`` and ``width`` default to the input size the model was trained at. ``run`` names
    the training run when it differs from ``split`` (a one-split dataset trained
    several times with different seeds); it is recorded, and the evaluation reports by it.

    ``out`` (``.npz``) holds ``{query,gallery}_features_{pooled,bn}`` (each test feature),
    ``{query,gallery}_{pids,camids,paths}``, ``gallery_in_query`` (MARS: the gallery is the
    kit's, and these items are the queries that the torchreid ``protocol`` leaves out) and a
    JSON ``meta`` record, whose ``chi`` holds the frame-level CHI of each set over its distinct
    frames under each feature, and ``trained_on``, the model's own split and how it relates to
    this one (``mgat.data.leakage``: a model of another split of the same dataset is refused
    unless ``allow_other_split``; another dataset is labelled cross-dataset). Returns ``meta``.
    """
    check_options(sampling, {"seq_len": seq_len, "batch_size": batch_size, "threads": threads})
    check_outputs(
        {"features output": out},
        {"model": model_path, "splits file": splits_file},
        {"dataset folder": dataset_folder(dataset, root)},
    )
    ensure_writable(out)
    torch.set_num_threads(threads)
    target = resolve_device(device)
    loaded = load_model(model_path, target, height, width)
    splits_sha256 = sha256_file(splits_file)
    trained = _checked_training(
        loaded.saved, model_path, dataset, split, splits_sha256, allow_other_split
    )
    data = split_test_sets(dataset, root, splits_file, split, protocol)
    in_query = _gallery_in_query(data, dataset)
    excluded = in_query if protocol == "torchreid" else np.zeros_like(in_query)
    workers = loader_workers(threads, target)
    arrays: dict[str, np.ndarray] = {"gallery_in_query": in_query}
    chi: dict[str, dict[str, float | None]] = {kind: {} for kind in TEST_FEATURES}
    for name, items in (("query", data.query), ("gallery", data.gallery)):
        left_out = excluded if name == "gallery" else np.zeros(len(items), dtype=bool)
        frames = frame_table(items, sampling, seq_len)
        values, _rate = frame_features(
            loaded.model,
            frames.paths,
            loaded.height,
            loaded.width,
            batch_size,
            workers,
            target,
            loaded.layout,
            f"{dataset} {name}",
        )
        arrays.update(_set_arrays(name, items, frames, values))
        for kind, scores in _frame_chi(items, frames, values, ~left_out).items():
            chi[kind][name] = scores
    meta = {
        "model": str(model_path),
        "dataset": dataset,
        "split": split,
        "run": split if run is None else run,
        "protocol": protocol,
        "sampling": sampling,
        "seq_len": seq_len,
        "feature_dim": int(arrays["query_features_bn"].shape[1]),
        "num_query": len(data.query),
        "num_gallery": int(len(data.gallery) - excluded.sum()),
        "chi": chi,
        # Stage 2's attention at its start and every stage's per-epoch history (losses,
        # attention, how far the weights and BN statistics moved): mgat.engine.diagnostics.
        "diagnostics": loaded.saved.get("diagnostics"),
        "stage": loaded.saved.get("stage"),
        "trained_on": trained,
        # What produced these features: the model (digest, settings, training environment), the
        # splits file, and this extraction's own environment.
        "provenance": environment(
            device=device_name(target),
            model_sha256=sha256_file(model_path),
            splits_sha256=splits_sha256,
            settings=loaded.saved.get("settings"),
            training=loaded.saved.get("provenance"),
        ),
    }
    write_features(out, meta, arrays)
    log.info(
        "%s split %d: %d query, %d gallery", dataset, split, len(data.query), len(data.gallery)
    )
    return meta
