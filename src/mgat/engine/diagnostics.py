"""What stage 2 records about the graph attention, so a run shows whether MGAT acted at all.

With squared distances far above gamma, ``exp(-e^2/gamma)`` vanishes off the diagonal: the
attention is the identity, ``X' = X``, and stage 2 is fine-tuning with the identity loss alone.
These statistics, averaged per epoch into ``train_log.csv``, make that visible.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mgat.models.graph import attention_matrix, pairwise_sq_distances

#: Mean self weight above which the attention counts as numerically the identity.
IDENTITY_ALPHA = 0.99

#: The per-batch statistics, as named in ``train_log.csv``.
ATTENTION_COLUMNS = (
    "alpha_self",  # mean alpha_ii
    "attn_same",  # mean attention mass on the other images of the same person
    "attn_other",  # mean attention mass on images of other persons
    "e2_median",  # median squared distance e_ij^2 over pairs i != j
    "e2_over_gamma",  # e2_median / gamma: ~1 means the attention discriminates
    "rel_change",  # ||X' - X||_F / ||X||_F
)


@torch.no_grad()
def attention_statistics(
    features: Tensor, optimized: Tensor, labels: Tensor, gamma: float
) -> dict[str, Tensor]:
    """Statistics of one batch's attention (eq. 3) and update, as 0-d float32 tensors.

    No host synchronisation: the loop accumulates them on the device.
    """
    x = features.detach().float()
    n = x.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=x.device)
    same = (labels[:, None] == labels[None, :]) & ~eye
    weights = attention_matrix(x, gamma)
    e2 = pairwise_sq_distances(x)[~eye]
    e2_median = e2.median() if e2.numel() else torch.zeros((), device=x.device)
    change = (optimized.detach().float() - x).norm() / x.norm().clamp_min(1e-12)
    return {
        "alpha_self": weights.diagonal().mean(),
        "attn_same": (weights * same).sum(dim=1).mean(),
        "attn_other": (weights * ~(same | eye)).sum(dim=1).mean(),
        "e2_median": e2_median,
        "e2_over_gamma": e2_median / gamma,
        "rel_change": change,
    }


def gradient_norm(loss: Tensor, at: Tensor) -> Tensor:
    """``||d loss / d at||_F``, keeping the graph for the training step's own backward."""
    if not at.requires_grad:
        return torch.zeros((), device=at.device)
    (grad,) = torch.autograd.grad(loss, at, retain_graph=True, allow_unused=True)
    if grad is None:
        return torch.zeros((), device=at.device)
    return grad.detach().float().norm()
