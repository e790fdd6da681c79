"""Models: the ResNet-bn feature-embedding network and the masked graph attention module."""

from __future__ import annotations

from mgat.models.backbone import BACKBONES, build_backbone
from mgat.models.graph import (
    MaskedGraphAttention,
    attention_matrix,
    mask_matrix,
    pairwise_sq_distances,
)
from mgat.models.reid import ReidNet

__all__ = [
    "BACKBONES",
    "MaskedGraphAttention",
    "ReidNet",
    "attention_matrix",
    "build_backbone",
    "mask_matrix",
    "pairwise_sq_distances",
]
