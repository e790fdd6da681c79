"""Image transforms of Section 4.2: resize to 256x128, random horizontal flip for training.

The work is split where it is cheapest: the loader's workers decode, resize and flip, and ship
uint8 batches (a quarter of the bytes of float32 through shared and pinned memory);
:func:`model_input` then scales and normalises a whole batch where the model runs, on the GPU
when there is one.

The flip is the paper's only augmentation. Its randomness comes from torch's RNG, which
:func:`mgat.data.frames.make_loader` seeds for each sample from ``(seed, epoch, batch,
position)``, so the flips of an epoch are reproducible whatever loads them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torchvision.transforms import v2

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "model_input", "test_transform", "train_transform"]

#: The backbone is ImageNet-pretrained, so inputs get ImageNet's channel statistics.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _pipeline(height: int, width: int, flip: bool) -> Callable[[Any], torch.Tensor]:
    for name, value in (("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"image {name} must be a positive integer, got {value!r}")
    steps: list[Callable[[Any], Any]] = [
        v2.ToImage(),
        v2.Resize((height, width), interpolation=v2.InterpolationMode.BILINEAR, antialias=True),
    ]
    if flip:
        steps.append(v2.RandomHorizontalFlip(p=0.5))
    return v2.Compose(steps)


def train_transform(
    height: int = 256, width: int = 128, flip: bool = True
) -> Callable[[Any], torch.Tensor]:
    """Training transform: resize and random horizontal flip.

    Takes a PIL image (or a uint8 CHW tensor) and returns a uint8 tensor of shape (3, H, W);
    :func:`model_input` scales and normalises the batch.
    """
    return _pipeline(height, width, flip)


def test_transform(height: int = 256, width: int = 128) -> Callable[[Any], torch.Tensor]:
    """Evaluation transform: the training transform without the flip, hence deterministic."""
    return _pipeline(height, width, flip=False)


# Not a pytest test despite the name. mypy knows no attributes set on a function.
test_transform.__test__ = False  # type: ignore[attr-defined]


def model_input(
    images: torch.Tensor,
    device: torch.device,
    layout: torch.memory_format = torch.contiguous_format,
) -> torch.Tensor:
    """A batch of uint8 images [B, 3, H, W] as the model takes it: on ``device``, float32 in
    [0, 1], ImageNet-normalised, in ``layout``.

    The copy is non-blocking (the loader pins its batches beside a GPU) and the arithmetic runs
    on ``device``; the operations are torchvision's own, element-wise, so the result is the same
    as normalising each image on its own.
    """
    if images.dtype != torch.uint8:
        raise TypeError(f"model_input takes uint8 images, got {images.dtype}")
    images = images.to(device, non_blocking=True)
    images = v2.functional.to_dtype(images, torch.float32, scale=True)
    images = v2.functional.normalize(images, IMAGENET_MEAN, IMAGENET_STD)
    return images.contiguous(memory_format=layout)
