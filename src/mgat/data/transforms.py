"""Image transforms of Section 4.2: resize to 256x128, random horizontal flip for training.

The flip is the paper's only augmentation. Its randomness comes from torch's global RNG, which
:func:`mgat.data.frames.make_loader` seeds from ``(seed, epoch)`` in every worker (and in the
main process when there are no workers), so the flips of an epoch are reproducible.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torchvision.transforms import v2

from mgat.errors import ConfigError

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "test_transform", "train_transform"]

#: The backbone is ImageNet-pretrained, so inputs get ImageNet's channel statistics.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _pipeline(height: int, width: int, flip: bool) -> Callable[[Any], torch.Tensor]:
    for name, value in (("height", height), ("width", width)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"image {name} must be a positive integer, got {value!r}")
    steps: list[Callable[[Any], Any]] = [
        v2.ToImage(),
        v2.Resize((height, width), interpolation=v2.InterpolationMode.BILINEAR, antialias=True),
    ]
    if flip:
        steps.append(v2.RandomHorizontalFlip(p=0.5))
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    return v2.Compose(steps)


def train_transform(
    height: int = 256, width: int = 128, flip: bool = True
) -> Callable[[Any], torch.Tensor]:
    """Training transform: resize, random horizontal flip, to float tensor, ImageNet-normalise.

    Takes a PIL image (or a uint8 CHW tensor) and returns a float tensor of shape (3, H, W).
    """
    return _pipeline(height, width, flip)


def test_transform(height: int = 256, width: int = 128) -> Callable[[Any], torch.Tensor]:
    """Evaluation transform: the training transform without the flip, hence deterministic."""
    return _pipeline(height, width, flip=False)


# Not a pytest test despite the name.
test_transform.__test__ = False  # type: ignore[attr-defined]
