"""Training losses: the identity (classification) loss and the OF loss of Section 3.3."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mgat.errors import ConfigError

#: Forms of the OF loss: the mean squared error the text names, and eq. (11) as printed.
OF_LOSS_FORMS = ("mse", "l2sum")


def identity_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """Cross-entropy over identities; no label smoothing, which the paper does not use."""
    return F.cross_entropy(logits, labels)


def _safe_row_norms(diff: Tensor) -> Tensor:
    """Row-wise Euclidean norms whose gradient is 0, not NaN, where a row is all zeros."""
    sq = diff.pow(2).sum(dim=1)
    positive = sq > 0
    # The double ``where`` keeps sqrt away from 0 in both the forward and the backward pass.
    root = torch.sqrt(torch.where(positive, sq, torch.ones_like(sq)))
    return torch.where(positive, root, torch.zeros_like(sq))


class OptimizationFeedbackLoss(nn.Module):
    """OF loss, eq. (11): pulls the CNN features ``X`` towards MGAT's optimised ``X'``.

    ``form="mse"`` is ``mean((x' - x)^2)`` (the text's "mean squared error", the default);
    ``form="l2sum"`` is ``sum_i ||x'_i - x_i||_2`` exactly as eq. (11) is printed. With
    ``detach_target`` the optimised features are a fixed target ("further supervise the
    original features"), so the gradient reaches the CNN through ``x`` only; otherwise it also
    flows back through ``x'``.
    """

    def __init__(self, form: str = "mse", weight: float = 1.0, detach_target: bool = True) -> None:
        super().__init__()
        if form not in OF_LOSS_FORMS:
            raise ConfigError(
                f"unknown OF loss form {form!r}; valid forms: {', '.join(OF_LOSS_FORMS)}"
            )
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not (math.isfinite(weight) and weight >= 0)
        ):
            raise ConfigError(f"OF loss weight must be a non-negative number, got {weight!r}")
        self.form = form
        self.weight = float(weight)
        self.detach_target = bool(detach_target)

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
            return self.weight * F.mse_loss(target, x)
        return self.weight * _safe_row_norms(target - x).sum()

    def extra_repr(self) -> str:
        return f"form={self.form!r}, weight={self.weight:g}, detach_target={self.detach_target}"
