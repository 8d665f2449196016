# Copyright (c) rrgkit contributors. All rights reserved.
"""A region proposer that always looks at the centre of the image.

The simplest possible "region": a fixed central crop. It is encoded by a
second backbone, and its features are concatenated with the global ones
and projected back to one size. It shows the region-proposer interface,
``(inputs, visual, data_samples) -> (visual, losses)``, without any
learned box, and serves as a baseline for CAM-driven crops
(:class:`rrgkit.models.region_proposers.CAMThresholdProposer`).
"""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from rrgkit.models.region_proposers import crop_and_resize
from rrgkit.models.utils.visual_features import VisualFeatures
from rrgkit.registry import MODELS

__all__ = ['CentreCropProposer', 'centre_box']

ModuleCfg = Union[dict, nn.Module]


def centre_box(height: int, width: int,
               ratio: float) -> Tuple[int, int, int, int]:
    """The central box covering ``ratio`` of each side.

    Sides are rounded half up (at least one pixel); the left/top margin is
    the floor of half the remainder, so an odd remainder leaves the extra
    pixel on the right/bottom.

    Args:
        height (int): Image height ``H``.
        width (int): Image width ``W``.
        ratio (float): Side fraction in ``(0, 1]``.

    Returns:
        tuple: ``(x1, y1, x2, y2)`` in pixel edges (``x1 <= x < x2``).
    """
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f'centre_box: ratio must be in (0, 1], got {ratio}')
    crop_h = max(1, int(height * ratio + 0.5))
    crop_w = max(1, int(width * ratio + 0.5))
    y1 = (height - crop_h) // 2
    x1 = (width - crop_w) // 2
    return x1, y1, x1 + crop_w, y1 + crop_h


def _last_map(feats) -> torch.Tensor:
    return feats[-1] if isinstance(feats, (list, tuple)) else feats


@MODELS.register_module()
class CentreCropProposer(BaseModule):
    """Crops the image centre, encodes it and fuses it with the study.

    For each study: the central box (:func:`centre_box`) of the first view
    -> crop resized to ``crop_size`` -> ``region_backbone`` -> region
    feature ``f_r`` (global average pooling). The study feature becomes
    ``W_f [f_g; f_r]`` (concatenation, then a linear projection to
    ``embed_dims``); the tokens become the projected global tokens followed
    by the projected region tokens. No auxiliary loss.

    Args:
        region_backbone (dict | nn.Module): The region branch, e.g.
            ``dict(type='DenseNet', arch='121')``; returns a feature map (or
            a tuple of them, the last is used).
        in_channels (int): Channels of the global feature (set by the
            generator when omitted from the config).
        crop_ratio (float): Side fraction of the central box, in
            ``(0, 1]``. Defaults to 0.5.
        crop_size (int): Side of the resized crop. Defaults to 224.
        embed_dims (int, optional): Size of the fused features. Defaults to
            ``in_channels``.
        region_channels (int, optional): Channels of the region backbone's
            output; found by a dry run on a ``crop_size`` 3-channel image
            when None. Defaults to None.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 region_backbone: ModuleCfg,
                 in_channels: int,
                 crop_ratio: float = 0.5,
                 crop_size: int = 224,
                 embed_dims: Optional[int] = None,
                 region_channels: Optional[int] = None,
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        if not 0.0 < crop_ratio <= 1.0:
            raise ValueError(f'{name}: crop_ratio must be in (0, 1], got '
                             f'{crop_ratio}')
        if in_channels is None or int(in_channels) < 1 or int(crop_size) < 1:
            raise ValueError(
                f'{name}: in_channels and crop_size must be positive, got '
                f'{in_channels} and {crop_size}; in a ReportGenerator leave '
                'in_channels out and it is set from the backbone.')
        self.crop_ratio = float(crop_ratio)
        self.crop_size = int(crop_size)
        self.region_backbone = (
            region_backbone if isinstance(region_backbone, nn.Module) else
            MODELS.build(region_backbone))
        if region_channels is None:
            region_channels = self._probe_region_channels()
        self.in_channels = int(in_channels)
        self.region_channels = int(region_channels)
        self.out_channels = int(embed_dims or in_channels)
        self.fuse = nn.Linear(self.in_channels + self.region_channels,
                              self.out_channels)
        self.global_proj = nn.Linear(self.in_channels, self.out_channels)
        self.region_proj = nn.Linear(self.region_channels, self.out_channels)

    @torch.no_grad()
    def _probe_region_channels(self) -> int:
        was_training = self.region_backbone.training
        self.region_backbone.eval()
        try:
            feat = _last_map(
                self.region_backbone(
                    torch.zeros(1, 3, self.crop_size, self.crop_size)))
        except Exception as err:
            raise RuntimeError(
                f'{type(self).__name__}: could not run the region backbone on '
                f'a 1x3x{self.crop_size}x{self.crop_size} image to find its '
                f'output channels ({err}); pass region_channels=...') from err
        finally:
            self.region_backbone.train(was_training)
        return int(feat.shape[1])

    def boxes(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, 4)`` float boxes ``x1, y1, x2, y2``, the same for every
        image of the batch."""
        box = centre_box(images.shape[-2], images.shape[-1], self.crop_ratio)
        return torch.tensor(
            [box], dtype=torch.float32,
            device=images.device).repeat(images.shape[0], 1)

    def forward(
        self,
        inputs: torch.Tensor,
        visual: VisualFeatures,
        data_samples: Optional[List] = None
    ) -> Tuple[VisualFeatures, Dict[str, torch.Tensor]]:
        """Crop, encode and fuse the central region.

        Args:
            inputs (Tensor): ``(B, C, H, W)`` or ``(B, V, C, H, W)``
                normalised images (the first view is cropped).
            visual (VisualFeatures): Global-branch features.
            data_samples (list, optional): Unused (no auxiliary loss).

        Returns:
            tuple: The new ``VisualFeatures`` (fused ``global_feat`` of size
            ``embed_dims``; tokens = global tokens then region tokens;
            extras ``region_boxes`` ``(B, 4)``) and an empty loss dict.
        """
        name = type(self).__name__
        if inputs.dim() not in (4, 5):
            raise ValueError(
                f'{name}: inputs must be (B, C, H, W) or (B, V, C, H, W), '
                f'got shape {tuple(inputs.shape)}')
        images = inputs[:, 0] if inputs.dim() == 5 else inputs
        global_feat = visual.global_feat
        if global_feat.shape[1] != self.in_channels:
            raise ValueError(
                f'{name}: the global feature has {global_feat.shape[1]} '
                f'channels but in_channels={self.in_channels}; leave '
                'in_channels out of the config so the generator sets it.')
        boxes = self.boxes(images)
        crops = crop_and_resize(images, boxes, self.crop_size)
        region_map = _last_map(self.region_backbone(crops))
        region_feat = region_map.mean(dim=(2, 3))
        region_tokens = region_map.flatten(2).transpose(1, 2)
        fused = self.fuse(torch.cat([global_feat, region_feat], 1))
        tokens = torch.cat([
            self.global_proj(visual.tokens),
            self.region_proj(region_tokens)
        ], 1)
        extras = dict(visual.extras)
        extras['region_boxes'] = boxes
        return visual.replace(
            global_feat=fused, tokens=tokens, extras=extras), {}

    def extra_repr(self) -> str:
        return (f'crop_ratio={self.crop_ratio}, crop_size={self.crop_size}, '
                f'out_channels={self.out_channels}')
