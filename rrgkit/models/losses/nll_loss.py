# Copyright (c) rrgkit contributors. All rights reserved.
"""Token-level negative log-likelihood for report generation."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from rrgkit.registry import MODELS

__all__ = ['ReportNLLLoss']


@MODELS.register_module()
class ReportNLLLoss(nn.Module):
    """Cross-entropy of the next token, ignoring padding.

    Args:
        ignore_index (int): Target id that carries no loss (the padding id).
            Defaults to 0.
        reduction (str): ``'token'`` averages over all non-padding tokens of
            the batch; ``'sequence'`` averages each report over its tokens,
            then over reports. Defaults to ``'token'``.
        label_smoothing (float): As in :func:`torch.nn.functional.cross_entropy`.
            Defaults to 0.
        loss_weight (float): Multiplier of the loss. Defaults to 1.
    """

    def __init__(self,
                 ignore_index: int = 0,
                 reduction: str = 'token',
                 label_smoothing: float = 0.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if reduction not in ('token', 'sequence'):
            raise ValueError(f"ReportNLLLoss: reduction must be 'token' or "
                             f"'sequence', got {reduction!r}")
        self.ignore_index = ignore_index
        self.reduction = reduction
        self.label_smoothing = label_smoothing
        self.loss_weight = loss_weight

    def forward(self, logits: torch.Tensor,
                targets: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            logits (Tensor): ``(B, T, V)`` unnormalised scores.
            targets (Tensor): ``(B, T)`` target ids.

        Returns:
            Tensor: The scalar loss.
        """
        B, T, V = logits.shape
        nll = F.cross_entropy(
            logits.reshape(B * T, V).float(),
            targets.reshape(B * T),
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
            reduction='none').view(B, T)
        mask = (targets != self.ignore_index).to(nll.dtype)
        if self.reduction == 'token':
            loss = nll.sum() / mask.sum().clamp(min=1)
        else:
            per_seq = nll.sum(1) / mask.sum(1).clamp(min=1)
            loss = per_seq.mean()
        return self.loss_weight * loss
