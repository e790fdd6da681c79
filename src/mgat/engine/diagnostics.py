"""What a run records about itself, so that its log shows whether MGAT acted at all and how far
each stage moved the network.

With squared distances far above gamma, ``exp(-e^2/gamma)`` vanishes off the diagonal: the
attention is the identity, ``X' = X``, and stage 2 is fine-tuning with the identity loss alone.
The attention statistics, averaged per epoch into ``train_log.csv``, make that visible. At the
paper's stage-2 rate the weights may barely move, and the BatchNorm running statistics may be
what stage 2 changes most; :class:`Movement` measures both against the stage's start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from mgat.models.graph import attention_matrix, pairwise_sq_distances

if TYPE_CHECKING:
    from mgat.models import ReidNet

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
    "row_sum",  # mean row sum of the attention applied: (A o M) for MGAT, A (rows sum to 1) for GAT
)


@torch.no_grad()
def attention_statistics(
    features: Tensor, optimized: Tensor, labels: Tensor, gamma: float, masked: bool = True
) -> dict[str, Tensor]:
    """Statistics of one batch's attention (eq. 3) and update, as 0-d float32 tensors.

    ``masked``: the update applies ``A o M`` (MGAT), whose rows sum to ``alpha_ii + same -
    other`` (the mask's -1 makes the update shrink or even flip X), rather than ``A`` (GAT).
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
    alpha_self = weights.diagonal().mean()
    attn_same = (weights * same).sum(dim=1).mean()
    attn_other = (weights * ~(same | eye)).sum(dim=1).mean()
    return {
        "alpha_self": alpha_self,
        "attn_same": attn_same,
        "attn_other": attn_other,
        "e2_median": e2_median,
        "e2_over_gamma": e2_median / gamma,
        "rel_change": change,
        "row_sum": alpha_self + attn_same - attn_other if masked else weights.sum(dim=1).mean(),
    }


def gradient_norm(loss: Tensor, at: Tensor) -> Tensor:
    """``||d loss / d at||_F``, keeping the graph for the training step's own backward."""
    if not at.requires_grad:
        return torch.zeros((), device=at.device)
    (grad,) = torch.autograd.grad(loss, at, retain_graph=True, allow_unused=True)
    if grad is None:
        return torch.zeros((), device=at.device)
    return grad.detach().float().norm()


def batch_norm_layers(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """Every BatchNorm layer of ``module``, of any dimension."""
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


def _flat(tensors: list[Tensor]) -> Tensor:
    if not tensors:
        return torch.zeros(0, dtype=torch.float64)
    return torch.cat([t.detach().reshape(-1).double().cpu() for t in tensors])


class Movement:
    """How far a stage has moved a ReID network from where the stage started: the columns
    ``mgat.vocabulary.MOVEMENT_COLUMNS``.

    Weights: ``||W - W0|| / ||W0||`` over the trainable parameters of the trunk and of the head
    apart. BatchNorm running statistics (which training mode re-estimates whatever the learning
    rate): the shift of the running means in units of the starting standard deviation and the
    relative change of the standard deviation, each as an RMS over channels, for the trunk's BN
    layers and the head's BN apart. All are 0 for an unchanged network and scale-free.
    """

    def __init__(self, model: ReidNet) -> None:
        self._parts = {"trunk": model.backbone, "head": nn.ModuleList([model.bn, model.classifier])}
        self._weights = {name: self._params(part) for name, part in self._parts.items()}
        self._stats = {name: self._bn_stats(part) for name, part in self._parts.items()}

    @staticmethod
    def _params(part: nn.Module) -> Tensor:
        return _flat([p for p in part.parameters() if p.requires_grad])

    @staticmethod
    def _bn_stats(part: nn.Module) -> tuple[Tensor, Tensor]:
        pairs = [(m.running_mean, m.running_var) for m in batch_norm_layers(part)]
        stats = [(mean, var) for mean, var in pairs if mean is not None and var is not None]
        return _flat([mean for mean, _var in stats]), _flat([var for _mean, var in stats])

    def measure(self) -> dict[str, float]:
        """The movement columns of the network now."""
        row: dict[str, float] = {}
        for name, part in self._parts.items():
            start = self._weights[name]
            now = self._params(part)
            row[f"move_{name}"] = float((now - start).norm() / start.norm().clamp_min(1e-30))
        for name, part in self._parts.items():
            mean0, var0 = self._stats[name]
            mean, var = self._bn_stats(part)
            if mean0.numel() == 0:
                row[f"bn_mean_shift_{name}"] = row[f"bn_std_change_{name}"] = 0.0
                continue
            std0 = var0.clamp_min(1e-12).sqrt()
            shift = (mean - mean0) / std0
            change = var.clamp_min(0).sqrt() / std0 - 1
            row[f"bn_mean_shift_{name}"] = float(shift.pow(2).mean().sqrt())
            row[f"bn_std_change_{name}"] = float(change.pow(2).mean().sqrt())
        return row
