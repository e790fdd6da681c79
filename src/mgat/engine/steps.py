"""What one iteration computes in each stage, and the mode the network trains in; the loop
around them is shared."""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from mgat.engine.diagnostics import attention_statistics, batch_norm_layers, gradient_norm
from mgat.losses import OptimizationFeedbackLoss, identity_loss
from mgat.models import MaskedGraphAttention
from mgat.vocabulary import BN_MODES, GRAPH_FEATURES, LOSS_REDUCTIONS

if TYPE_CHECKING:
    from mgat.models import ReidNet


class BaselineStep:
    """Stage 1: identity loss on the classifier's logits of the post-BN feature."""

    def train_mode(self, model: nn.Module) -> None:
        """The whole network in training mode."""
        model.train()

    def __call__(
        self, model: nn.Module, images: torch.Tensor, pids: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        _features, logits = model(images)
        loss = identity_loss(logits, pids)
        correct = (logits.argmax(dim=1) == pids).sum()
        return {"loss": loss, "id_loss": loss.detach(), "correct": correct}


class GraphStep:
    """Stage 2: X' = graph(X); identity loss on the logits of X' plus the OF loss between X', X.

    With ``MaskedGraphAttention(masked=True)`` this is MGAT (eq. 7); with ``masked=False`` the
    conventional GAT of the ablation (eq. 5); with ``graph=None`` the control, X' = X and no OF
    loss: the same stage-2 training without the graph. ``features="pooled"`` takes X before
    the BN and classifies BN(X'), normalised with the statistics of X; ``features="bn"`` takes
    the post-BN X and classifies X' directly (the control's logits are the same either way).
    ``bn="frozen"`` keeps every BatchNorm layer in eval mode (stage 1's running statistics, used
    as they will be at test time); ``bn="train"`` re-estimates them on the stage-2 batches.
    ``reduction`` averages or sums both losses over the batch. Every step with a graph also
    returns the attention statistics of :mod:`mgat.engine.diagnostics` and the norms of the two
    losses' gradients at X.
    """

    def __init__(
        self,
        graph: MaskedGraphAttention | None,
        of_loss: OptimizationFeedbackLoss | None = None,
        features: str = "pooled",
        bn: str = "train",
        reduction: str = "mean",
    ) -> None:
        if features not in GRAPH_FEATURES:
            raise ValueError(
                f"unknown MGAT input features {features!r}; valid: {', '.join(GRAPH_FEATURES)}"
            )
        if bn not in BN_MODES:
            raise ValueError(f"unknown stage-2 BN mode {bn!r}; valid: {', '.join(BN_MODES)}")
        if reduction not in LOSS_REDUCTIONS:
            raise ValueError(
                f"unknown loss reduction {reduction!r}; valid: {', '.join(LOSS_REDUCTIONS)}"
            )
        if graph is not None and of_loss is None:
            raise ValueError("a graph step needs its OF loss")
        if of_loss is not None and of_loss.reduction != reduction:
            raise ValueError(
                f"the OF loss reduces by {of_loss.reduction!r}, the step by {reduction!r}"
            )
        self.graph = graph
        self.of_loss = of_loss if graph is not None else None
        self.features = features
        self.bn = bn
        self.reduction = reduction

    def train_mode(self, model: nn.Module) -> None:
        """Training mode, with every BatchNorm layer in eval mode when ``bn="frozen"``."""
        model.train()
        if self.bn == "frozen":
            for layer in batch_norm_layers(model):
                layer.eval()

    def __call__(
        self, model: ReidNet, images: torch.Tensor, pids: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        if self.graph is None or self.of_loss is None:  # the control: X' = X (no OF loss)
            _features, logits = model(images)
            id_loss = identity_loss(logits, pids, self.reduction)
            return {
                "loss": id_loss,
                "id_loss": id_loss.detach(),
                "correct": (logits.argmax(dim=1) == pids).sum(),
            }
        if self.features == "pooled":
            features = model.embed(images)
            optimized = self.graph(features, pids)
            logits = model.classify_pooled(optimized, reference=features)
        else:
            features = model.features(images)
            optimized = self.graph(features, pids)
            logits = model.classify(optimized)
        id_loss = identity_loss(logits, pids, self.reduction)
        of_loss = self.of_loss(optimized, features)
        correct = (logits.argmax(dim=1) == pids).sum()
        return {
            "loss": id_loss + of_loss,
            "id_loss": id_loss.detach(),
            "of_loss": of_loss.detach(),
            "correct": correct,
            **attention_statistics(
                features, optimized, pids, self.graph.gamma, masked=self.graph.masked
            ),
            "id_grad_x": gradient_norm(id_loss, features),
            "of_grad_x": gradient_norm(of_loss, features),
        }
