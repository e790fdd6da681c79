"""Masked graph attention (MGAT), Section 3.2 of the paper, equations (1)-(10).

A mini-batch of features is a complete graph. The attention of node i to node j is
``exp(-||x_i - x_j||^2 / gamma)``, L1-normalised over j (eq. 2-3); the mask is +1 between nodes
of the same identity and -1 otherwise (eq. 10, which is eq. 4 for a PK-ordered batch); the
output is ``X' = (A o M) X`` (eq. 7), or ``X' = A X`` for the conventional GAT (eq. 5).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """float64 stays float64; half precision is lifted to float32 for the distances."""
    return torch.promote_types(dtype, torch.float32)


def pairwise_sq_distances(features: Tensor) -> Tensor:
    """Squared Euclidean distances ``e_ij^2`` [N, N] (eq. 1), >= 0 with an exact zero diagonal.

    Uses ``|a|^2 + |b|^2 - 2 a.b`` (one matmul) on features centred by their detached batch
    mean: distances do not change under a shift, and centring removes most of the cancellation
    that large feature norms would otherwise cause. No square root is taken, so the gradient is
    finite everywhere, including at zero distance.
    """
    if features.dim() != 2:
        raise ValueError(f"features must be [N, d], got shape {tuple(features.shape)}")
    centred = features - features.detach().mean(dim=0, keepdim=True)
    sq_norms = centred.pow(2).sum(dim=1)
    e2 = sq_norms[:, None] + sq_norms[None, :] - 2.0 * (centred @ centred.T)
    e2 = e2.clamp_min(0.0)
    eye = torch.eye(e2.shape[0], dtype=torch.bool, device=e2.device)
    return e2.masked_fill(eye, 0.0)


def attention_matrix(features: Tensor, gamma: float) -> Tensor:
    """Row-normalised attention ``A`` [N, N] of eq. (3), in at least float32.

    ``softmax(-e^2 / gamma)`` equals eq. (3) exactly but stays finite when squared distances are
    in the thousands (the row maximum, the diagonal 0, is subtracted before ``exp``). Autocast is
    switched off here so that half precision never reaches the distances.
    """
    with torch.autocast(device_type=features.device.type, enabled=False):
        x = features.to(_compute_dtype(features.dtype))
        return torch.softmax(pairwise_sq_distances(x) / -gamma, dim=1)


def mask_matrix(labels: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
    """Mask ``M`` [N, N] of eq. (10): +1 where labels match, -1 elsewhere."""
    if labels.dim() != 1:
        raise ValueError(f"labels must be [N], got shape {tuple(labels.shape)}")
    same = labels[:, None] == labels[None, :]
    one = torch.ones((), dtype=dtype, device=labels.device)
    return torch.where(same, one, -one)


class MaskedGraphAttention(nn.Module):
    """MGAT node update ``X' = (A o M) X``; ``masked=False`` gives the plain GAT ``X' = A X``.

    Has no parameters. Works in float64, float32 and under bfloat16/float16 autocast: the
    distances, softmax and aggregation run in at least float32 and the output has the input's
    dtype.
    """

    def __init__(self, gamma: float, masked: bool = True) -> None:
        super().__init__()
        if isinstance(gamma, bool) or not isinstance(gamma, int | float):
            raise ValueError(f"MGAT gamma must be a positive number, got {gamma!r}")
        if not (math.isfinite(gamma) and gamma > 0):
            raise ValueError(f"MGAT gamma must be a positive finite number, got {gamma!r}")
        self.gamma = float(gamma)
        self.masked = bool(masked)

    def attention(self, features: Tensor) -> Tensor:
        """Attention ``A`` [N, N] of eq. (3), in the features' dtype."""
        return attention_matrix(features, self.gamma).to(features.dtype)

    def mask(self, labels: Tensor, dtype: torch.dtype = torch.float32) -> Tensor:
        """Mask ``M`` [N, N] of eq. (10)."""
        return mask_matrix(labels, dtype)

    def forward(self, features: Tensor, labels: Tensor | None = None) -> Tensor:
        """Optimised features ``X'`` [N, d] for features ``X`` [N, d] with identity ``labels``."""
        if features.dim() != 2:
            raise ValueError(f"features must be [N, d], got shape {tuple(features.shape)}")
        if self.masked:
            if labels is None:
                raise ValueError("masked graph attention needs the labels of the features")
            if labels.shape != features.shape[:1]:
                raise ValueError(
                    f"labels must be [{features.shape[0]}] to match the features, "
                    f"got shape {tuple(labels.shape)}"
                )
        with torch.autocast(device_type=features.device.type, enabled=False):
            x = features.to(_compute_dtype(features.dtype))
            weights = attention_matrix(x, self.gamma)
            if self.masked and labels is not None:  # labels is not None once masked (above)
                weights = weights * mask_matrix(labels.to(x.device), weights.dtype)
            return (weights @ x).to(features.dtype)

    def extra_repr(self) -> str:
        return f"gamma={self.gamma:g}, masked={self.masked}"
