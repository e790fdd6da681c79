"""Frame-level training data: a Dataset over (path, pid, camid) triples and its DataLoader.

Video datasets are trained frame by frame (Section 4.2 samples images "from the cross-camera
image set" of a person), so every frame of a tracklet becomes one sample carrying the
tracklet's person id and camera. Image datasets pass through unchanged.

:func:`make_loader` makes the random augmentation of an epoch a pure function of
``(seed, epoch)``: the worker seeds come from a generator seeded from ``(seed, epoch)``, and
without workers the main process draws its augmentation randomness from a private RNG stream
seeded the same way (the training code's own use of torch's global RNG neither disturbs nor is
disturbed by it). Together with a resumable batch sampler this makes a run killed after an epoch
and resumed bit-identical to an uninterrupted one, for a fixed number of workers.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Sampler

from mgat.data.base import Item
from mgat.errors import ConfigError, DataError

__all__ = ["FrameDataset", "flatten_frames", "make_loader", "person_index", "seed_worker"]

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


def load_rgb(path: str) -> Image.Image:
    """Open an image as RGB, turning any read failure into a one-line DataError."""
    try:
        with Image.open(path) as image:
            return image.convert("RGB")
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
        raise DataError(
            f"cannot read image {path} ({reason}); the dataset is corrupt or incomplete, "
            "re-extract the archive or regenerate the synthetic data"
        ) from exc


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

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int, int]:
        path, pid, camid = self.samples[index]
        image = load_rgb(path)
        if self.transform is None:
            tensor = torch.from_numpy(np.asarray(image, dtype=np.float32) / 255.0)
            tensor = tensor.permute(2, 0, 1).contiguous()
        else:
            tensor = self.transform(image)
        return tensor, pid, camid, index


def _derive_seed(*parts: int) -> int:
    """A 63-bit seed that depends on all of ``parts`` (not just their sum)."""
    words = np.random.SeedSequence([int(p) for p in parts]).generate_state(2, np.uint32)
    return ((int(words[0]) << 32) | int(words[1])) & ((1 << 63) - 1)


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: seed python ``random`` and numpy from torch's seed.

    torch seeds each worker with ``base_seed + worker_id``, ``base_seed`` drawn from the
    loader's generator; this carries that seed over to the other RNGs a transform might use.
    """
    seed = torch.initial_seed()
    random.seed(seed)
    np.random.seed(seed % 2**32)


class _RngState:
    """A private (torch, python, numpy) global-RNG stream that can be swapped in and out."""

    def __init__(self, seed: int) -> None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.torch = torch.get_rng_state()
        self.python = random.Random(seed).getstate()
        self.numpy = np.random.RandomState(seed % 2**32).get_state()

    def swap(self) -> None:
        """Exchange this stream with the process's current global RNG states."""
        current = (torch.get_rng_state(), random.getstate(), np.random.get_state())
        torch.set_rng_state(self.torch)
        random.setstate(self.python)
        np.random.set_state(self.numpy)
        self.torch, self.python, self.numpy = current


class SeededDataLoader(DataLoader):
    """A DataLoader whose main-process loading (no workers) uses a private seeded RNG stream.

    With workers, torch already seeds each worker from ``generator``. Without workers the
    transforms would draw from the training process's global RNG, whose state depends on
    everything else the run did; here each iteration instead draws a seed from ``generator``
    and runs the loading of every batch on an RNG stream seeded with it.
    """

    def __iter__(self) -> Iterator[Any]:  # type: ignore[override]
        if self.num_workers > 0:
            return super().__iter__()
        seed = int(torch.empty((), dtype=torch.int64).random_(generator=self.generator).item())
        return self._iter_main_process(_RngState(seed))

    def _iter_main_process(self, stream: _RngState) -> Iterator[Any]:
        batches = super().__iter__()
        while True:
            stream.swap()
            try:
                batch = next(batches)
            except StopIteration:
                return
            finally:
                stream.swap()
            yield batch


def make_loader(
    dataset: Dataset[Any],
    batch_sampler: Sampler[list[int]],
    workers: int,
    device: torch.device,
    seed: int,
    epoch: int,
) -> DataLoader:
    """A DataLoader for one epoch whose augmentation randomness depends only on (seed, epoch).

    Make a new loader each epoch. The results depend on ``workers`` (each worker has its own
    RNG stream), so a resumed run must use the same number of workers to be bit-identical.
    """
    for name, value in (("workers", workers), ("seed", seed), ("epoch", epoch)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{name} must be a non-negative integer, got {value!r}")
    generator = torch.Generator()
    generator.manual_seed(_derive_seed(seed, epoch))
    pin = torch.device(device).type == "cuda"
    log.debug("loader for epoch %d: %d workers, pin_memory=%s", epoch, workers, pin)
    return SeededDataLoader(
        dataset,
        batch_sampler=batch_sampler,
        num_workers=workers,
        pin_memory=pin,
        worker_init_fn=seed_worker,
        generator=generator,
        persistent_workers=False,
        # Beside a GPU, keep more batches in flight so decoding never starves a fast step.
        prefetch_factor=4 if workers > 0 and pin else None,
    )
