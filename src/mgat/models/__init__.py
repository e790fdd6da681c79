"""Models: the ResNet-bn feature-embedding network and the masked graph attention module.

The names below load their submodule (and torch) on first use, so that the torch-free
``mgat.models.pretrained`` imports without torch: the workflow reads its URL table that way.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mgat.models.backbone import BACKBONES, build_backbone
    from mgat.models.graph import (
        MaskedGraphAttention,
        attention_matrix,
        mask_matrix,
        pairwise_sq_distances,
    )
    from mgat.models.reid import ReidNet

_HOMES = {
    "BACKBONES": "backbone",
    "build_backbone": "backbone",
    "MaskedGraphAttention": "graph",
    "attention_matrix": "graph",
    "mask_matrix": "graph",
    "pairwise_sq_distances": "graph",
    "ReidNet": "reid",
}

__all__ = [
    "BACKBONES",
    "MaskedGraphAttention",
    "ReidNet",
    "attention_matrix",
    "build_backbone",
    "mask_matrix",
    "pairwise_sq_distances",
]


def __getattr__(name: str) -> Any:
    """Load ``name`` from its submodule on first use (PEP 562)."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
