# Copyright (c) rrgkit contributors. All rights reserved.
"""Multi-label losses for medical tag classifiers (e.g. ASGK's branches)."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from rrgkit.registry import MODELS

__all__ = ['TagFocalLoss', 'TagBCELoss', 'sigmoid_focal_loss']


def _check_shapes(name: str, logits: torch.Tensor,
                  targets: torch.Tensor) -> None:
    if logits.shape != targets.shape:
        raise ValueError(
            f'{name}: logits have shape {tuple(logits.shape)} but the tag '
            f'targets have shape {tuple(targets.shape)}; the classifier\'s '
            'num_tags must equal the length of every sample\'s gt_tags.')


def sigmoid_focal_loss(logits: torch.Tensor,
                       targets: torch.Tensor,
                       alpha: Optional[float] = 0.25,
                       gamma: float = 2.0) -> torch.Tensor:
    """Element-wise sigmoid focal loss (Lin et al., 2017), unreduced.

    ``FL = -alpha_t * (1 - p_t) ** gamma * log(p_t)`` with ``p = sigmoid(x)``,
    ``p_t = p * y + (1 - p) * (1 - y)`` and
    ``alpha_t = alpha * y + (1 - alpha) * (1 - y)``. ``log(p_t)`` is computed
    as a binary cross-entropy with logits, which is numerically stable.

    Args:
        logits (Tensor): Unnormalised scores, any shape.
        targets (Tensor): Targets in ``[0, 1]``, same shape.
        alpha (float, optional): Weight of positives; None disables the
            weighting. Defaults to 0.25.
        gamma (float): Focusing exponent (0 gives plain BCE).
            Defaults to 2.

    Returns:
        Tensor: The loss of each element, same shape as ``logits``.
    """
    logits = logits.float()
    targets = targets.to(logits.dtype)
    ce = F.binary_cross_entropy_with_logits(logits, targets, reduction='none')
    prob = logits.sigmoid()
    p_t = prob * targets + (1 - prob) * (1 - targets)
    loss = ce * (1 - p_t).pow(gamma)
    if alpha is not None:
        loss = loss * (alpha * targets + (1 - alpha) * (1 - targets))
    return loss


@MODELS.register_module()
class TagFocalLoss(nn.Module):
    """Sigmoid focal loss for multi-label tag classification.

    The loss of every (sample, tag) pair is averaged over tags and batch
    (``reduction='mean'`` over all ``B * num_tags`` elements), so its scale
    does not depend on the number of tags or the batch size.

    Args:
        alpha (float, optional): Weight of positive tags; None disables it.
            Defaults to 0.25.
        gamma (float): Focusing exponent. Defaults to 2.
        loss_weight (float): Multiplier of the loss. Defaults to 1.
    """

    def __init__(self,
                 alpha: Optional[float] = 0.25,
                 gamma: float = 2.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if alpha is not None and not 0.0 <= alpha <= 1.0:
            raise ValueError(
                f'TagFocalLoss: alpha must be in [0, 1] or None, got {alpha}')
        if gamma < 0:
            raise ValueError(f'TagFocalLoss: gamma must be >= 0, got {gamma}')
        self.alpha = alpha
        self.gamma = gamma
        self.loss_weight = loss_weight

    def forward(self, logits: torch.Tensor,
                targets: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            logits (Tensor): ``(B, num_tags)`` unnormalised scores.
            targets (Tensor): ``(B, num_tags)`` multi-hot targets.

        Returns:
            Tensor: The scalar loss.
        """
        _check_shapes('TagFocalLoss', logits, targets)
        loss = sigmoid_focal_loss(logits, targets, self.alpha, self.gamma)
        return self.loss_weight * loss.mean()

    def extra_repr(self) -> str:
        return (f'alpha={self.alpha}, gamma={self.gamma}, '
                f'loss_weight={self.loss_weight}')


@MODELS.register_module()
class TagBCELoss(nn.Module):
    """Binary cross-entropy with logits for multi-label tags.

    Averaged over tags and batch, like :class:`TagFocalLoss`.

    Args:
        loss_weight (float): Multiplier of the loss. Defaults to 1.
    """

    def __init__(self, loss_weight: float = 1.0) -> None:
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, logits: torch.Tensor,
                targets: torch.Tensor) -> torch.Tensor:
        """Compute the loss.

        Args:
            logits (Tensor): ``(B, num_tags)`` unnormalised scores.
            targets (Tensor): ``(B, num_tags)`` multi-hot targets.

        Returns:
            Tensor: The scalar loss.
        """
        _check_shapes('TagBCELoss', logits, targets)
        logits = logits.float()
        loss = F.binary_cross_entropy_with_logits(logits,
                                                  targets.to(logits.dtype))
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}'
