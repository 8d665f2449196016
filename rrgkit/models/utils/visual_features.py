# Copyright (c) rrgkit contributors. All rights reserved.
"""The visual features handed from backbone to proposer, encoder, decoder."""
from dataclasses import dataclass, field, replace
from typing import Dict, Optional

import torch

__all__ = [
    'VisualFeatures', 'pool_feature_map', 'TOKEN_MASK', 'token_mask',
    'masked_token_mean'
]

# ``extras`` key of an optional ``(B, N)`` boolean mask over ``tokens``.
TOKEN_MASK = 'token_mask'


@dataclass
class VisualFeatures:
    """Features of a batch of studies.

    Attributes:
        global_feat (Tensor): ``(B, D)`` one vector per study.
        tokens (Tensor): ``(B, N, D)`` spatial tokens (all views' feature map
            positions concatenated) that attention decoders look at.
        feat_map (Tensor, optional): ``(B, D, h, w)`` last feature map of the
            first view, for CAM-style region proposers.
        extras (dict): Anything a proposer or encoder adds (tag probabilities,
            graph nodes, region boxes ...), keyed by name. ``token_mask``
            (:data:`TOKEN_MASK`), when present, is a ``(B, N)`` boolean mask
            over ``tokens``, False at padding that attention must skip
            (e.g. the padded words of retrieved reports).
    """
    global_feat: torch.Tensor
    tokens: torch.Tensor
    feat_map: Optional[torch.Tensor] = None
    extras: Dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def batch_size(self) -> int:
        """Number of studies in the batch."""
        return self.global_feat.shape[0]

    def replace(self, **changes) -> 'VisualFeatures':
        """Return a copy with some fields replaced."""
        return replace(self, **changes)


def pool_feature_map(feat_map: torch.Tensor, num_views: int) -> VisualFeatures:
    """Turn backbone feature maps of ``B * V`` images into study features.

    Args:
        feat_map (Tensor): ``(B * V, D, h, w)`` feature maps, views of a study
            adjacent.
        num_views (int): Views per study ``V``.

    Returns:
        VisualFeatures: global vector = mean over views of global average
        pooling; tokens = all views' positions concatenated.
    """
    BV, D, h, w = feat_map.shape
    B = BV // num_views
    tokens = feat_map.flatten(2).transpose(1, 2)  # (BV, hw, D)
    tokens = tokens.reshape(B, num_views * h * w, D)
    global_feat = feat_map.mean(dim=(2, 3)).view(B, num_views, D).mean(1)
    first_view = feat_map.view(B, num_views, D, h, w)[:, 0]
    return VisualFeatures(global_feat, tokens, first_view)


def token_mask(visual: VisualFeatures) -> Optional[torch.Tensor]:
    """The ``(B, N)`` mask of tokens to attend to, or None (all of them)."""
    mask = visual.extras.get(TOKEN_MASK)
    if mask is not None and mask.shape != visual.tokens.shape[:2]:
        raise ValueError(
            f"visual.extras['{TOKEN_MASK}'] has shape {tuple(mask.shape)} "
            f'but the tokens {tuple(visual.tokens.shape[:2])}')
    return mask


def masked_token_mean(visual: VisualFeatures) -> torch.Tensor:
    """``(B, D)`` mean of the tokens the mask keeps (all without a mask)."""
    mask = token_mask(visual)
    if mask is None:
        return visual.tokens.mean(1)
    weights = mask.unsqueeze(-1).to(visual.tokens.dtype)
    return (visual.tokens * weights).sum(1) / weights.sum(1).clamp_min(1.0)
