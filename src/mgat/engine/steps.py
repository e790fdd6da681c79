"""What one iteration computes in each stage; the loop around it is shared."""

from __future__ import annotations

import torch
from torch import nn

from mgat.losses import OptimizationFeedbackLoss, identity_loss
from mgat.models import MaskedGraphAttention


class BaselineStep:
    """Stage 1: identity loss on the classifier's logits of the post-BN feature."""

    def __call__(
        self, model: nn.Module, images: torch.Tensor, pids: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        _features, logits = model(images)
        loss = identity_loss(logits, pids)
        correct = (logits.argmax(dim=1) == pids).sum()
        return {"loss": loss, "id_loss": loss.detach(), "correct": correct}


class GraphStep:
    """Stage 2: X' = graph(X); identity loss on classifier(X') plus the OF loss between X', X.

    With ``MaskedGraphAttention(masked=True)`` this is MGAT (eq. 7); with ``masked=False`` the
    conventional GAT of the ablation (eq. 5).
    """

    def __init__(self, graph: MaskedGraphAttention, of_loss: OptimizationFeedbackLoss) -> None:
        self.graph = graph
        self.of_loss = of_loss

    def __call__(
        self, model: nn.Module, images: torch.Tensor, pids: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        features = model.features(images)
        optimized = self.graph(features, pids)
        logits = model.classify(optimized)
        id_loss = identity_loss(logits, pids)
        of_loss = self.of_loss(optimized, features)
        correct = (logits.argmax(dim=1) == pids).sum()
        return {
            "loss": id_loss + of_loss,
            "id_loss": id_loss.detach(),
            "of_loss": of_loss.detach(),
            "correct": correct,
        }
