"""Frame-level training data: a Dataset over (path, pid, camid) triples and its DataLoader.

Video datasets are trained frame by frame (Section 4.2 samples images "from the cross-camera
image set" of a person), so every frame of a tracklet becomes one sample carrying the
tracklet's person id and camera. Image datasets pass through unchanged.

:func:`make_loader` makes the random augmentation of an epoch a pure function of
``(seed, epoch)`` and of nothing else, the number of loader workers included: every sample of
a batch carries its own seed, derived from ``(seed, epoch, batch, position)``, and its transform
runs on a torch RNG stream seeded with it, in whichever process loads it. The training code's
own use of torch's global RNG neither disturbs nor is disturbed by it. Together with a resumable
batch sampler this makes a run killed after an epoch and resumed bit-identical to an
uninterrupted one, with any number of workers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Sampler

from mgat.data.base import Item
from mgat.data.images import load_rgb
from mgat.errors import DataError

__all__ = ["FrameDataset", "flatten_frames", "make_loader", "person_index"]

log = logging.getLogger(__name__)

Sample = tuple[str, int, int]


def flatten_frames(items: list[Item]) -> list[Sample]:
    """One ``(path, pid, camid)`` sample per frame of every tracklet; images pass through."""
    samples: list[Sample] = []
    for item in items:
        if isinstance(item.paths, str):
            samples.append((item.paths, int(item.pid), int(item.camid)))
            continue
        if not item.paths:
            raise DataError(
                f"a tracklet of person {item.pid} (camera {item.camid}) has no frames; the "
                "dataset is incomplete, re-extract the archive or regenerate the synthetic data"
            )
        samples.extend((path, int(item.pid), int(item.camid)) for path in item.paths)
    return samples


def person_index(samples: Sequence[Sample]) -> dict[int, list[int]]:
    """Map each person id to the sorted indices of its samples: its cross-camera image set."""
    index: dict[int, list[int]] = {}
    for i, (_, pid, _) in enumerate(samples):
        index.setdefault(int(pid), []).append(i)
    return {pid: index[pid] for pid in sorted(index)}


class FrameDataset(Dataset[tuple[torch.Tensor, int, int, int]]):
    """Images (or video frames) with their person id and camera, for frame-level training.

    ``dataset[i]`` is ``(image, pid, camid, i)``; the index lets a training step look the
    sample up again (for example to log or debug the batch composition).
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        transform: Callable[[Image.Image], torch.Tensor] | None = None,
    ) -> None:
        self.samples = list(samples)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key: int | tuple[int, int]) -> tuple[torch.Tensor, int, int, int]:
        """``key``: a sample index, or ``(index, seed)`` to run the transform on a torch RNG
        stream seeded with ``seed`` (see :func:`make_loader`)."""
        index, seed = key if isinstance(key, tuple) else (key, None)
        path, pid, camid = self.samples[index]
        image = load_rgb(path)
        if self.transform is None:
            tensor = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)
            tensor = tensor.permute(2, 0, 1).contiguous()
        elif seed is None:
            tensor = self.transform(image)
        else:  # on the CPU generator alone: torch.manual_seed would cost 20 times as much
            state = torch.get_rng_state()
            torch.default_generator.manual_seed(seed)
            try:
                tensor = self.transform(image)
            finally:
                torch.set_rng_state(state)
        return tensor, pid, camid, index


class _SeededBatches(Sampler[list[tuple[int, int]]]):
    """The batches of ``batches``, each sample paired with the seed of its augmentation."""

    def __init__(self, batches: Sampler[list[int]], seed: int, epoch: int) -> None:
        self.batches, self.seed, self.epoch = batches, seed, epoch

    def __len__(self) -> int:
        # Sampler declares no __len__; the batch samplers given here all define one.
        return len(self.batches)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for b, batch in enumerate(self.batches):
            # One seed per position, from one SeedSequence per batch (cheap beside a fast GPU).
            words = np.random.SeedSequence([self.seed, self.epoch, b]).generate_state(
                len(batch), np.uint64
            )
            yield [(int(i), int(w) >> 1) for i, w in zip(batch, words, strict=True)]


def make_loader(
    dataset: Dataset[Any],
    batch_sampler: Sampler[list[int]],
    workers: int,
    device: torch.device,
    seed: int,
    epoch: int,
) -> DataLoader:
    """A DataLoader for one epoch whose augmentation depends only on (seed, epoch): each
    sample's transform is seeded from ``(seed, epoch, batch, position)``, so neither the number
    of ``workers`` nor the global RNG changes a batch. Make a new loader each epoch."""
    for name, value in (("workers", workers), ("seed", seed), ("epoch", epoch)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
    pin = torch.device(device).type == "cuda"
    log.debug("loader for epoch %d: %d workers, pin_memory=%s", epoch, workers, pin)
    return DataLoader(
        dataset,
        batch_sampler=_SeededBatches(batch_sampler, seed, epoch),
        num_workers=workers,
        pin_memory=pin,
        persistent_workers=False,
        # Beside a GPU, keep more batches in flight so decoding never starves a fast step.
        prefetch_factor=4 if workers > 0 and pin else None,
    )
