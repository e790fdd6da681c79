"""ResNet-bn: the feature-embedding network of the paper (Section 4.2).

A ResNet trunk with global average pooling, followed by a BatchNorm1d whose bias is fixed at
zero and a bias-free linear identity classifier. The post-BN vector is the test feature. MGAT's
input ``X`` in the second stage is either the pooled trunk feature (:meth:`ReidNet.embed`; ``X'``
then passes through the stage-1 BN and classifier) or the post-BN feature
(:meth:`ReidNet.features`; the classifier alone classifies ``X'``): see ``docs/protocol.md``.
"""

from __future__ import annotations

import os
from typing import Any

from torch import Tensor, nn

from mgat.errors import ConfigError
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
            raise ConfigError(f"num_classes must be a positive integer, got {num_classes!r}")
        self.backbone_name = backbone
        self.num_classes = num_classes
        self.backbone, self.feature_dim = build_backbone(backbone, weights)
        self.bn = nn.BatchNorm1d(self.feature_dim)
        self.classifier = nn.Linear(self.feature_dim, num_classes, bias=False)
        self.reset_head()

    def reset_head(self) -> None:
        """Initialise the head as the paper's ResNet-bn does; the BN bias is frozen at zero."""
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

    def classify_pooled(self, x: Tensor) -> Tensor:
        """Identity logits for pooled (pre-BN) features ``x``: the BN, then the classifier."""
        return self.classifier(self.bn(x))

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
                raise ConfigError(f"{label} must be a non-negative number, got {lr!r}")
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
