"""ResNet-bn: the feature-embedding network of the paper (Section 4.2).

A ResNet trunk with global average pooling, followed by a BatchNorm1d whose bias is fixed at
zero and a bias-free linear identity classifier: our reading of "ResNet50-bn" (the usual
"BNNeck" head; the paper does not describe its head beyond "the BN layer and the customized
classifier module"). Both the pooled and the post-BN vector can serve as the test feature
(``evaluation.feature``). MGAT's input ``X`` in the second stage is either the pooled trunk
feature (:meth:`ReidNet.embed`; ``X'`` then passes through the stage-1 BN, normalised with the
statistics of ``X``, and the classifier: :meth:`ReidNet.classify_pooled`) or the post-BN feature
(:meth:`ReidNet.features`; the classifier alone classifies ``X'``): see ``docs/protocol.md``.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import Tensor, nn

from mgat.models.backbone import NO_WEIGHTS, build_backbone


class ReidNet(nn.Module):
    """ResNet-bn for identity classification; ``features`` gives the embedding used at test."""

    def __init__(
        self,
        backbone: str,
        num_classes: int,
        weights: str | os.PathLike[str] | None = NO_WEIGHTS,
    ) -> None:
        super().__init__()
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
        self.backbone_name = backbone
        self.num_classes = num_classes
        self.backbone, self.feature_dim = build_backbone(backbone, weights)
        self.bn = nn.BatchNorm1d(self.feature_dim)
        self.classifier = nn.Linear(self.feature_dim, num_classes, bias=False)
        self.reset_head()

    def reset_head(self) -> None:
        """Initialise the head: BN weight 1, its bias frozen at zero, the classifier near zero."""
        nn.init.ones_(self.bn.weight)
        nn.init.zeros_(self.bn.bias)
        # A zero, frozen shift keeps the feature centred the same way for X and for X'.
        self.bn.bias.requires_grad_(False)
        nn.init.normal_(self.classifier.weight, std=0.001)

    def embed(self, images: Tensor) -> Tensor:
        """Pooled trunk feature [N, d], before the BN: what "ResNet50" itself outputs."""
        return self.backbone(images)

    def features(self, images: Tensor) -> Tensor:
        """Post-BN feature ``x`` [N, d]: the test feature."""
        return self.bn(self.embed(images))

    def classify(self, x: Tensor) -> Tensor:
        """Identity logits [N, num_classes] for post-BN features ``x``."""
        return self.classifier(x)

    def classify_pooled(self, x: Tensor, reference: Tensor | None = None) -> Tensor:
        """Identity logits for pooled (pre-BN) features ``x``: the BN, then the classifier.

        With ``reference`` (the pooled features ``X`` that ``x = X'`` was computed from) and the
        BN in training mode, ``x`` is normalised with the batch statistics of ``reference`` and
        the running statistics are updated from ``reference``: the statistics the test feature
        is normalised with are then estimated on the features they normalise at test time
        (``X``), not on ``X'``, which only exists in training.
        """
        if reference is None or reference is x or not self.bn.training:
            return self.classifier(self.bn(x))
        return self.classifier(_batch_norm_with_statistics_of(self.bn, x, reference))

    def forward(self, images: Tensor) -> tuple[Tensor, Tensor] | Tensor:
        """``(x, logits)`` in training mode, ``x`` alone in eval mode."""
        x = self.features(images)
        if self.training:
            return x, self.classify(x)
        return x

    def param_groups(self, backbone_lr: float, head_lr: float) -> list[dict[str, Any]]:
        """SGD parameter groups: the pretrained trunk and the new head, each with its own lr."""
        for label, lr in (("backbone_lr", backbone_lr), ("head_lr", head_lr)):
            if not isinstance(lr, int | float) or not lr >= 0:
                raise ValueError(f"{label} must be a non-negative number, got {lr!r}")
        backbone = [p for p in self.backbone.parameters() if p.requires_grad]
        head = [
            p
            for module in (self.bn, self.classifier)
            for p in module.parameters()
            if p.requires_grad
        ]
        return [
            {"name": "backbone", "params": backbone, "lr": float(backbone_lr)},
            {"name": "head", "params": head, "lr": float(head_lr)},
        ]

    def extra_repr(self) -> str:
        return (
            f"backbone={self.backbone_name!r}, feature_dim={self.feature_dim}, "
            f"num_classes={self.num_classes}"
        )


def _batch_norm_with_statistics_of(bn: nn.BatchNorm1d, x: Tensor, reference: Tensor) -> Tensor:
    """``bn`` in training mode applied to ``x`` with the batch statistics of ``reference``,
    whose statistics (not those of ``x``) update the running mean and variance exactly as
    ``bn(reference)`` would: biased variance to normalise, unbiased to track."""
    dtype = torch.promote_types(reference.dtype, torch.float32)  # bf16 under autocast: lifted
    ref = reference.to(dtype)
    mean = ref.mean(dim=0)
    var = ref.var(dim=0, unbiased=False)
    tracked = bn.num_batches_tracked
    if (
        bn.track_running_stats
        and bn.running_mean is not None
        and bn.running_var is not None
        and tracked is not None
    ):
        with torch.no_grad():
            tracked.add_(1)
            # momentum None: a cumulative moving average, as BatchNorm keeps it.
            factor = 1.0 / float(tracked) if bn.momentum is None else bn.momentum
            n = ref.shape[0]
            unbiased = var * (n / max(n - 1, 1))
            bn.running_mean.mul_(1 - factor).add_(mean.detach(), alpha=factor)
            bn.running_var.mul_(1 - factor).add_(unbiased.detach(), alpha=factor)
    out = (x.to(dtype) - mean) * torch.rsqrt(var + bn.eps)
    if bn.affine:
        out = out * bn.weight + bn.bias
    return out
