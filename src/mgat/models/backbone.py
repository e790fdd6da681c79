"""Backbone factory: a torchvision ResNet trunk that ends in global average pooling.

The paper builds on ResNet50 pretrained on ImageNet (Section 4.2); smaller ResNets serve demos and
tests. The trunk keeps torchvision's own module names (only ``fc`` becomes an identity), so a
torchvision classification state dict loads into it directly once its ``fc.*`` keys are dropped.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
import torchvision.models as tvm
from torch import nn

from mgat.errors import ConfigError
from mgat.models.pretrained import check_weights_file, fetch_imagenet_weights

log = logging.getLogger(__name__)

#: Supported backbone names and their torchvision builders (the ResNet family).
BACKBONES: dict[str, Callable[..., tvm.ResNet]] = {
    "resnet18": tvm.resnet18,
    "resnet34": tvm.resnet34,
    "resnet50": tvm.resnet50,
    "resnet101": tvm.resnet101,
    "resnet152": tvm.resnet152,
    "resnext50_32x4d": tvm.resnext50_32x4d,
    "resnext101_32x8d": tvm.resnext101_32x8d,
    "resnext101_64x4d": tvm.resnext101_64x4d,
    "wide_resnet50_2": tvm.wide_resnet50_2,
    "wide_resnet101_2": tvm.wide_resnet101_2,
}

#: Keywords accepted by ``weights`` besides a path to a state-dict file.
IMAGENET = "imagenet"
NO_WEIGHTS = "none"

_MAX_NAMED_KEYS = 4


def build_backbone(
    name: str, weights: str | os.PathLike[str] | None = NO_WEIGHTS
) -> tuple[nn.Module, int]:
    """Build the trunk of a torchvision ResNet up to global average pooling and flatten.

    ``weights`` is ``"imagenet"`` (torchvision's original ``IMAGENET1K_V1`` weights, the ones
    the 2019 paper could have used; downloaded once into torch hub's cache), a path to a local
    torchvision state-dict file (its ``fc.*`` keys are ignored; a file with torchvision's own name
    is checked against the hash in it), or ``"none"``/``None`` for random initialisation. The
    workflow fetches the ImageNet file before any job starts and passes its path.

    Returns the trunk, mapping images ``[N, 3, H, W]`` to features ``[N, d]``, and ``d``.
    """
    builder = BACKBONES.get(name)
    if builder is None:
        raise ConfigError(
            f"unknown backbone {name!r}; valid backbones: {', '.join(sorted(BACKBONES))}"
        )
    model = builder(weights=None)
    feature_dim = int(model.fc.in_features)
    # torchvision's ResNet.forward ends in avgpool -> flatten -> fc; an identity fc leaves the
    # pooled feature, and every other parameter keeps its torchvision name.
    model.fc = nn.Identity()

    if weights is None or (isinstance(weights, str) and weights.lower() == NO_WEIGHTS):
        log.info("backbone %s: random initialisation", name)
    elif isinstance(weights, str) and weights.lower() == IMAGENET:
        _load_into(model, _imagenet_state_dict(name), f"ImageNet weights for {name}")
        log.info("backbone %s: ImageNet weights loaded", name)
    else:
        path = Path(weights)
        _load_into(model, _read_state_dict_file(path), f"state dict {str(path)!r}")
        log.info("backbone %s: weights loaded from %s", name, path)
    return model, feature_dim


def _imagenet_state_dict(name: str) -> Mapping[str, torch.Tensor]:
    """torchvision's ImageNet weights, fetched once into torch hub's cache (where torchvision
    itself keeps them) and checked against the hash in their file name."""
    folder = Path(torch.hub.get_dir()) / "checkpoints"
    return _read_state_dict_file(fetch_imagenet_weights(name, folder))


def _read_state_dict_file(path: Path) -> Mapping[str, torch.Tensor]:
    """Read a state dict saved with ``torch.save(model.state_dict(), path)``."""
    if not path.is_file():
        raise ConfigError(
            f"weights {str(path)!r} is neither {IMAGENET!r}, {NO_WEIGHTS!r} "
            "nor an existing state-dict file"
        )
    check_weights_file(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        # torch.load's own messages run to many lines; the type is enough to say what failed.
        raise ConfigError(
            f"weights file {str(path)!r} could not be read as a PyTorch state dict "
            f"({type(exc).__name__}); save one with torch.save(model.state_dict(), path)"
        ) from exc
    if not _is_state_dict(state):
        raise ConfigError(
            f"weights file {str(path)!r} holds a {type(state).__name__}, not a state dict; "
            "save one with torch.save(model.state_dict(), path)"
        )
    return state


def _load_into(model: nn.Module, state: Mapping[str, torch.Tensor], what: str) -> None:
    """Load ``state`` without its ``fc.*`` keys; mismatched keys or shapes fail in one line."""
    filtered: OrderedDict[str, torch.Tensor] = OrderedDict(
        (key, value) for key, value in state.items() if not key.startswith("fc.")
    )
    metadata = getattr(state, "_metadata", None)
    if metadata is not None:
        filtered._metadata = metadata  # type: ignore[attr-defined]  # keeps BN versioning

    expected = model.state_dict()
    # Old torchvision files predate BatchNorm's ``num_batches_tracked``; BatchNorm fills it in.
    missing = [
        key for key in expected if key not in filtered and not key.endswith("num_batches_tracked")
    ]
    unexpected = [key for key in filtered if key not in expected]
    mismatched = [
        f"{key} {tuple(value.shape)} vs {tuple(expected[key].shape)}"
        for key, value in filtered.items()
        if key in expected and tuple(value.shape) != tuple(expected[key].shape)
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys ({_few(missing)})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys ({_few(unexpected)})")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatches ({_few(mismatched)})")
    if problems:
        raise ConfigError(
            f"{what} does not fit the backbone: {'; '.join(problems)}; "
            "expected a state dict of the same torchvision model"
        )
    model.load_state_dict(filtered, strict=False)


def _is_state_dict(obj: object) -> bool:
    return (
        isinstance(obj, Mapping)
        and len(obj) > 0
        and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    )


def _few(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_NAMED_KEYS])
    return shown + (", ..." if len(items) > _MAX_NAMED_KEYS else "")
