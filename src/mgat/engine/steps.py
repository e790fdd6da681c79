"""What one iteration computes in each stage; the loop around it is shared."""

from __future__ import annotations

import torch
from torch import nn

from mgat.engine.diagnostics import attention_statistics, gradient_norm
from mgat.errors import ConfigError
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


#: Where MGAT reads its input X: the pooled trunk feature before the BN, or the post-BN one.
GRAPH_FEATURES = ("pooled", "bn")


class GraphStep:
    """Stage 2: X' = graph(X); identity loss on the logits of X' plus the OF loss between X', X.

    With ``MaskedGraphAttention(masked=True)`` this is MGAT (eq. 7); with ``masked=False`` the
    conventional GAT of the ablation (eq. 5). ``features="pooled"`` takes X before the BN and
    classifies BN(X'); ``features="bn"`` takes the post-BN X and classifies X' directly. Every
    step also returns the attention statistics of :mod:`mgat.engine.diagnostics` and the norms
    of the two losses' gradients at X.
    """

    def __init__(
        self,
        graph: MaskedGraphAttention,
        of_loss: OptimizationFeedbackLoss,
        features: str = "pooled",
    ) -> None:
        if features not in GRAPH_FEATURES:
            raise ConfigError(
                f"unknown MGAT input features {features!r}; valid: {', '.join(GRAPH_FEATURES)}"
            )
        self.graph = graph
        self.of_loss = of_loss
        self.features = features

    def __call__(
        self, model: nn.Module, images: torch.Tensor, pids: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        if self.features == "pooled":
            features = model.embed(images)
            optimized = self.graph(features, pids)
            logits = model.classify_pooled(optimized)
        else:
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
            **attention_statistics(features, optimized, pids, self.graph.gamma),
            "id_grad_x": gradient_norm(id_loss, features),
            "of_grad_x": gradient_norm(of_loss, features),
        }
