"""Training losses: the identity (classification) loss and the OF loss of Section 3.3.

Both reduce over a batch's images by ``reduction``: ``mean`` (PyTorch's default, and this
project's) or ``sum`` (eq. 11 sums over the graph's nodes; a cross-entropy summed over a batch of
128 images is 128 times its mean, and so are its gradients: ``docs/protocol.md``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mgat.vocabulary import LOSS_REDUCTIONS, OF_LOSS_FORMS


def _check_reduction(reduction: str) -> None:
    if reduction not in LOSS_REDUCTIONS:
        raise ValueError(f"unknown loss reduction {reduction!r}; use one of {LOSS_REDUCTIONS}")


def identity_loss(logits: Tensor, labels: Tensor, reduction: str = "mean") -> Tensor:
    """Cross-entropy over identities, averaged or summed over the batch; no label smoothing,
    which the paper does not use."""
    _check_reduction(reduction)
    return F.cross_entropy(logits, labels, reduction=reduction)


def _safe_row_norms(diff: Tensor) -> Tensor:
    """Row-wise Euclidean norms whose gradient is 0, not NaN, where a row is all zeros."""
    sq = diff.pow(2).sum(dim=1)
    positive = sq > 0
    # The double ``where`` keeps sqrt away from 0 in both the forward and the backward pass.
    root = torch.sqrt(torch.where(positive, sq, torch.ones_like(sq)))
    return torch.where(positive, root, torch.zeros_like(sq))


class OptimizationFeedbackLoss(nn.Module):
    """OF loss, eq. (11): pulls the CNN features ``X`` towards MGAT's optimised ``X'``.

    Per image, ``form="mse"`` is ``||x'_i - x_i||^2 / d`` (the text's "mean squared error", the
    default) and ``form="l2"`` is ``||x'_i - x_i||_2`` (the term of eq. 11); ``reduction``
    averages (``mean``: with ``mse``, PyTorch's ``mse_loss``) or sums (``sum``: eq. 11 as
    printed, with ``l2``) them over the batch. With ``detach_target`` the optimised features
    are a fixed target ("further supervise the original features"), so the gradient reaches
    the CNN through ``x`` only; otherwise it also flows back through ``x'``.
    """

    def __init__(
        self,
        form: str = "mse",
        weight: float = 1.0,
        detach_target: bool = True,
        reduction: str = "mean",
    ) -> None:
        super().__init__()
        if form not in OF_LOSS_FORMS:
            raise ValueError(
                f"unknown OF loss form {form!r}; valid forms: {', '.join(OF_LOSS_FORMS)}"
            )
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not (math.isfinite(weight) and weight >= 0)
        ):
            raise ValueError(f"OF loss weight must be a non-negative number, got {weight!r}")
        _check_reduction(reduction)
        self.form = form
        self.weight = float(weight)
        self.detach_target = bool(detach_target)
        self.reduction = reduction

    def forward(self, x_prime: Tensor, x: Tensor) -> Tensor:
        """``weight * loss`` between optimised features ``x_prime`` and features ``x`` [N, d]."""
        if x_prime.shape != x.shape or x.dim() != 2:
            raise ValueError(
                f"x_prime and x must both be [N, d]; got {tuple(x_prime.shape)} and "
                f"{tuple(x.shape)}"
            )
        target = x_prime.detach() if self.detach_target else x_prime
        # At least float32, so bfloat16 features under autocast do not round the loss away.
        dtype = torch.promote_types(torch.promote_types(x.dtype, x_prime.dtype), torch.float32)
        target, x = target.to(dtype), x.to(dtype)
        if self.form == "mse":
            loss = F.mse_loss(target, x, reduction=self.reduction)
            if self.reduction == "sum":  # per image: the mean over its d dimensions
                loss = loss / x.shape[1]
            return self.weight * loss
        norms = _safe_row_norms(target - x)
        return self.weight * (norms.sum() if self.reduction == "sum" else norms.mean())

    def extra_repr(self) -> str:
        return (
            f"form={self.form!r}, weight={self.weight:g}, detach_target={self.detach_target}, "
            f"reduction={self.reduction!r}"
        )
