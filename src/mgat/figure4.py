"""Figure 4's sample: M persons x K distinct test frames of split 0, chosen from the splits alone
(and refused where the data hold fewer), and the Euclidean distances between their features
under the baseline and the MGAT model. Only those frames are run, so Figure 4's settings rerun
no extraction.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mgat.data.base import DatasetSplit
from mgat.data.splits import split_test_sets
from mgat.engine.device import resolve_device
from mgat.errors import ConfigError
from mgat.extraction import check_options, frame_features, frame_table, load_model
from mgat.vocabulary import (
    DEFAULT_FEATURE,
    DEFAULT_PROTOCOL,
    DEFAULT_SAMPLING,
    DEFAULT_SEQ_LEN,
    TEST_FEATURES,
)


def _sample_persons(pids: np.ndarray, persons: int, samples: int, seed: int) -> np.ndarray:
    """Rows of ``persons`` x ``samples`` distinct frames for Figure 4, given each frame's pid.

    Persons are drawn at random (fixed ``seed``) among those with at least ``samples`` distinct
    frames, sorted by id; their frames are taken evenly over the rows they own, which follow
    their tracklets. The choice depends only on the data, so every model of a split is shown on
    the same frames.
    """
    eligible = sorted(p for p in np.unique(pids) if p > 0 and (pids == p).sum() >= samples)
    if not eligible:
        return np.empty(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    chosen = sorted(rng.choice(eligible, size=min(persons, len(eligible)), replace=False))
    rows = []
    for pid in chosen:
        candidates = np.flatnonzero(pids == pid)
        rows.extend(candidates[np.linspace(0, len(candidates) - 1, samples).round().astype(int)])
    return np.asarray(rows, dtype=np.int64)


def _distinct_test_frames(
    data: DatasetSplit, sampling: str, seq_len: int
) -> tuple[list[str], np.ndarray]:
    """The distinct frames the extraction runs on a split's test sets, query first, each once,
    and each one's person id."""
    pid_of: dict[str, int] = {}
    for items in (data.query, data.gallery):
        paths, frame_ids, owners = frame_table(items, sampling, seq_len)
        pids = np.asarray([it.pid for it in items], dtype=np.int64)
        for frame, owner in zip(frame_ids.tolist(), owners.tolist(), strict=True):
            pid_of.setdefault(paths[frame], int(pids[owner]))
    return list(pid_of), np.asarray(list(pid_of.values()), dtype=np.int64)


def figure4_frames(
    *,
    dataset: str,
    root: str | Path,
    splits_file: str | Path,
    split: int,
    protocol: str = DEFAULT_PROTOCOL,
    sampling: str = DEFAULT_SAMPLING,
    seq_len: int = DEFAULT_SEQ_LEN,
    persons: int = 8,
    frames: int = 8,
) -> dict[str, Any]:
    """Figure 4's sample: ``persons`` x ``frames`` distinct test frames of ``split``, their
    paths and person ids (``paths``, ``pids``) with the choices that made them.

    The frames are the extraction's (``sampling``, ``seq_len``), query first, then gallery;
    persons are drawn with the seed ``split`` among those with at least ``frames`` of them, so
    every model of a split is shown on the same frames. A sample larger than the data allow is
    refused: it needs only the splits, so the workflow checks it before any training.
    """
    check_options(sampling, {"seq_len": seq_len, "persons": persons, "frames": frames})
    data = split_test_sets(dataset, root, splits_file, split, protocol)
    paths, pids = _distinct_test_frames(data, sampling, seq_len)
    rows = _sample_persons(pids, persons, frames, seed=split)
    found = len(rows) // frames
    if found < persons:
        raise ConfigError(
            f"Figure 4 asks for {persons} persons x {frames} frames, but split {split} of "
            f"{dataset} has only {found} persons with {frames} distinct test frames (sampling "
            f"{sampling}, seq_len {seq_len}); lower evaluation.fig4_persons or fig4_samples"
        )
    return {
        "dataset": dataset,
        "split": split,
        "protocol": protocol,
        "sampling": sampling,
        "seq_len": seq_len,
        "persons": persons,
        "frames": frames,
        "paths": [paths[r] for r in rows],
        "pids": pids[rows].tolist(),
    }


#: The choices of Figure 4's frames: the keyword arguments of :func:`figure4_frames`.
FRAME_CHOICES = tuple(inspect.signature(figure4_frames).parameters)


def figure4_features(
    model_paths: Sequence[str | Path],
    sample: dict[str, Any],
    *,
    height: int | None = None,
    width: int | None = None,
    feature: str = DEFAULT_FEATURE,
    device: str = "auto",
    threads: int = 1,
) -> list[np.ndarray]:
    """Each model's ``feature`` of Figure 4's ``sample`` frames (:func:`figure4_frames`), and
    of those frames only."""
    check_options(None, {"threads": threads})
    if feature not in TEST_FEATURES:
        raise ValueError(f"unknown test feature {feature!r}; use one of {TEST_FEATURES}")
    torch.set_num_threads(threads)
    target = resolve_device(device)
    chosen = sample["paths"]
    features = []
    for model_path in model_paths:
        loaded = load_model(model_path, target, height, width)
        run, _rate = frame_features(
            loaded.model,
            chosen,
            loaded.height,
            loaded.width,
            max(len(chosen), 1),
            0,
            target,
            loaded.layout,
            f"{sample['dataset']} figure 4",
        )
        features.append(run[feature].numpy())
    return features


def _split_keywords(sample: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``sample``'s frame choices (:data:`FRAME_CHOICES`) apart from how the models run."""
    choices = {k: v for k, v in sample.items() if k in FRAME_CHOICES}
    return choices, {k: v for k, v in sample.items() if k not in FRAME_CHOICES}


def figure4_sample(
    model_path: str | Path, **sample: Any
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Figure 4's sample for one model: the features, person ids and paths of the frames that
    :func:`figure4_frames` chooses (``sample``: its keywords, and height, width, feature,
    device, threads)."""
    choices, running = _split_keywords(sample)
    frames = figure4_frames(**choices)
    (features,) = figure4_features([model_path], frames, **running)
    return features, np.asarray(frames["pids"], dtype=np.int64), frames["paths"]


def figure4_distances(
    baseline_model: str | Path, mgat_model: str | Path, frames: dict[str, Any], **running: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Euclidean distance matrices of Figure 4's ``frames`` (:func:`figure4_frames`) under the
    baseline and the MGAT model, and their person ids (``running``: the keywords of
    :func:`figure4_features`)."""
    baseline, mgat = figure4_features([baseline_model, mgat_model], frames, **running)
    return _euclidean(baseline), _euclidean(mgat), np.asarray(frames["pids"], dtype=np.int64)


def _euclidean(features: np.ndarray) -> np.ndarray:
    """All pairwise Euclidean distances between the rows of ``features``, in float64."""
    values = features.astype(np.float64)
    return np.sqrt(((values[:, None, :] - values[None, :, :]) ** 2).sum(axis=-1))
