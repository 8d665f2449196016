# Copyright (c) rrgkit contributors. All rights reserved.
"""CAM-threshold region proposer: ASGK's internal auxiliary signal.

Li et al., "Auxiliary Signal-Guided Knowledge Encoder-Decoder for Medical
Report Generation": the global branch's feature maps give a heat map; the
largest connected region above a threshold is cropped from the image and
encoded by a second (region) backbone; global and region features are fused,
and three tag classifiers (global, region, fused) are trained on the medical
tags.
"""
import math
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule

# Imported for its side effect: registers the default TagFocalLoss.
from rrgkit.models.losses import tag_losses  # noqa: F401
from rrgkit.models.utils.visual_features import VisualFeatures
from rrgkit.registry import MODELS
from .connected_components import largest_component_box

__all__ = [
    'CAMThresholdProposer', 'cam_heatmap', 'heatmap_to_boxes',
    'crop_and_resize'
]

FUSIONS = ('mul', 'add', 'max', 'mean')
ModuleCfg = Union[dict, nn.Module]


def cam_heatmap(feat_map: torch.Tensor, size: Sequence[int],
                eps: float = 1e-12) -> torch.Tensor:
    """Class-agnostic activation map of a feature map, in ``[0, 1]``.

    ``H = max_c |f_c|``, upsampled bilinearly to ``size`` and min-max
    normalised per image. A constant map (no contrast) becomes all zeros.
    The map is computed without gradient (it only selects a box).

    Args:
        feat_map (Tensor): ``(B, C, h, w)`` feature maps.
        size (Sequence[int]): Output ``(H, W)``, the input image size.
        eps (float): Smallest value range treated as contrast.
            Defaults to 1e-12.

    Returns:
        Tensor: ``(B, H, W)`` float heat maps.
    """
    if feat_map.dim() != 4:
        raise ValueError('cam_heatmap expects (B, C, h, w) feature maps, got '
                         f'shape {tuple(feat_map.shape)}')
    with torch.no_grad():
        heat = feat_map.detach().float().abs().amax(dim=1, keepdim=True)
        heat = F.interpolate(
            heat, size=tuple(int(s) for s in size), mode='bilinear',
            align_corners=False)[:, 0]
        flat = heat.flatten(1)
        low = flat.amin(1).view(-1, 1, 1)
        span = flat.amax(1).view(-1, 1, 1) - low
        heat = (heat - low) / span.clamp_min(eps)
        heat = torch.where(span > eps, heat, torch.zeros_like(heat))
    return heat.clamp_(0.0, 1.0)


def heatmap_to_boxes(heatmap: torch.Tensor,
                     threshold: float = 0.7,
                     connectivity: int = 8) -> torch.Tensor:
    """Box of the largest connected region with ``heat >= threshold``.

    Args:
        heatmap (Tensor): ``(B, H, W)`` heat maps in ``[0, 1]``.
        threshold (float): Heat threshold tau. Defaults to 0.7.
        connectivity (int): 8 or 4. Defaults to 8.

    Returns:
        Tensor: ``(B, 4)`` float boxes ``x1, y1, x2, y2`` in pixel edges
        (``x1 <= x < x2``); the whole image ``[0, 0, W, H]`` where no pixel
        reaches the threshold.
    """
    if heatmap.dim() != 3:
        raise ValueError('heatmap_to_boxes expects (B, H, W) heat maps, got '
                         f'shape {tuple(heatmap.shape)}')
    _, H, W = heatmap.shape
    masks = (heatmap >= threshold).cpu().numpy()
    boxes = []
    for mask in masks:
        box = largest_component_box(mask, connectivity)
        boxes.append(box if box is not None else (0, 0, W, H))
    return torch.tensor(boxes, dtype=torch.float32, device=heatmap.device)


def crop_and_resize(images: torch.Tensor, boxes: torch.Tensor,
                    size: Union[int, Sequence[int]]) -> torch.Tensor:
    """Crop one box per image and resize the crops bilinearly.

    The crop is differentiable with respect to the image but not to the
    box (the box only indexes pixels).

    Args:
        images (Tensor): ``(B, C, H, W)`` images.
        boxes (Tensor): ``(B, 4)`` pixel-edge boxes ``x1, y1, x2, y2``;
            rounded outwards and clipped to the image, at least one pixel.
        size (int | Sequence[int]): Output size ``s`` or ``(h, w)``.

    Returns:
        Tensor: ``(B, C, h, w)`` crops.
    """
    if images.dim() != 4 or boxes.shape != (images.shape[0], 4):
        raise ValueError(
            'crop_and_resize expects (B, C, H, W) images and (B, 4) boxes, '
            f'got {tuple(images.shape)} and {tuple(boxes.shape)}')
    out_size = (size, size) if isinstance(size, int) else tuple(size)
    H, W = images.shape[-2:]
    crops = []
    for image, box in zip(images, boxes.tolist()):
        x1 = min(max(math.floor(box[0]), 0), W - 1)
        y1 = min(max(math.floor(box[1]), 0), H - 1)
        x2 = max(min(math.ceil(box[2]), W), x1 + 1)  # at least one pixel
        y2 = max(min(math.ceil(box[3]), H), y1 + 1)
        crop = image[None, :, y1:y2, x1:x2]
        crops.append(
            F.interpolate(
                crop, size=out_size, mode='bilinear', align_corners=False))
    return torch.cat(crops, 0)


def _last_map(feats) -> torch.Tensor:
    return feats[-1] if isinstance(feats, (list, tuple)) else feats


@MODELS.register_module()
class CAMThresholdProposer(BaseModule):
    """Crops the CAM region, encodes it, fuses it and classifies tags.

    For each study: heat map from ``visual.feat_map`` (see
    :func:`cam_heatmap`) -> threshold ``tau`` -> largest connected component
    (8-connectivity) -> its bounding box -> crop of the (normalised) input
    image resized to ``crop_size`` -> ``region_backbone`` -> region feature
    ``f_l`` (global average pooling). The study feature becomes
    ``fuse(f_g, f_l)`` and the region backbone's positions are appended to
    the tokens. The box is not differentiable; the region backbone learns
    through the region and fused tag losses and the report loss.

    Multi-view inputs ``(B, V, C, H, W)``: the crop is taken from the first
    view, the one ``visual.feat_map`` describes.

    Args:
        region_backbone (dict | nn.Module): The region branch, e.g.
            ``dict(type='DenseNet', arch='121')``; returns a feature map (or
            a tuple of them, the last is used).
        num_tags (int): Number of medical tags (length of ``gt_tags``).
        threshold (float): Heat threshold tau in ``(0, 1]``. Defaults to 0.7.
        crop_size (int): Side of the resized crop. Defaults to 224.
        connectivity (int): 8 or 4. Defaults to 8.
        fusion (str): ``'mul'``, ``'add'``, ``'max'`` or ``'mean'``,
            element-wise. Defaults to ``'mul'``.
        project (bool): Linearly project global and region features (and
            tokens) to ``embed_dims`` before fusing, for branches of
            different widths. Needs ``in_channels``. Defaults to False.
        in_channels (int, optional): Channels of the global feature. Required
            with ``project=True``; otherwise checked against the region
            channels when given. Defaults to None.
        embed_dims (int, optional): Fused size with ``project=True``.
            Defaults to the region channels.
        region_channels (int, optional): Channels of the region backbone's
            output; found by a dry run on a ``crop_size`` 3-channel image
            when None. Defaults to None.
        loss_tag (dict | nn.Module): Tag loss, called as
            ``loss(logits, targets)``. Defaults to ``TagFocalLoss``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 region_backbone: ModuleCfg,
                 num_tags: int,
                 threshold: float = 0.7,
                 crop_size: int = 224,
                 connectivity: int = 8,
                 fusion: str = 'mul',
                 project: bool = False,
                 in_channels: Optional[int] = None,
                 embed_dims: Optional[int] = None,
                 region_channels: Optional[int] = None,
                 loss_tag: ModuleCfg = dict(type='TagFocalLoss'),
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        name = type(self).__name__
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f'{name}: threshold must be in (0, 1], got '
                             f'{threshold}')
        if fusion not in FUSIONS:
            raise ValueError(f'{name}: fusion must be one of {FUSIONS}, got '
                             f'{fusion!r}')
        if connectivity not in (4, 8):
            raise ValueError(f'{name}: connectivity must be 4 or 8, got '
                             f'{connectivity!r}')
        if int(num_tags) < 1 or int(crop_size) < 1:
            raise ValueError(f'{name}: num_tags and crop_size must be '
                             f'positive, got {num_tags} and {crop_size}')
        self.num_tags = int(num_tags)
        self.threshold = float(threshold)
        self.crop_size = int(crop_size)
        self.connectivity = connectivity
        self.fusion = fusion
        self.region_backbone = (
            region_backbone if isinstance(region_backbone, nn.Module) else
            MODELS.build(region_backbone))
        if region_channels is None:
            region_channels = self._probe_region_channels()
        self.region_channels = int(region_channels)

        if project:
            if in_channels is None:
                raise ValueError(
                    f'{name}: project=True needs in_channels, the channels '
                    'of the global backbone (e.g. 1024 for DenseNet-121).')
            out_channels = embed_dims or self.region_channels
            self.global_proj = nn.Linear(in_channels, out_channels)
            self.region_proj = nn.Linear(self.region_channels, out_channels)
        else:
            for key, value in (('in_channels', in_channels),
                               ('embed_dims', embed_dims)):
                if value is not None and value != self.region_channels:
                    raise ValueError(
                        f'{name}: {key}={value} but the region backbone '
                        f'gives {self.region_channels} channels; element-'
                        'wise fusion needs equal sizes. Set project=True '
                        '(with in_channels) or use matching backbones.')
            out_channels = self.region_channels
            in_channels = self.region_channels
            self.global_proj = nn.Identity()
            self.region_proj = nn.Identity()
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)

        self.cls_global = nn.Linear(self.in_channels, self.num_tags)
        self.cls_region = nn.Linear(self.region_channels, self.num_tags)
        self.cls_fused = nn.Linear(self.out_channels, self.num_tags)
        self.loss_tag = (
            loss_tag if isinstance(loss_tag, nn.Module) else
            MODELS.build(loss_tag))

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

    # ------------------------------------------------------------ pieces
    def fuse(self, global_feat: torch.Tensor,
             region_feat: torch.Tensor) -> torch.Tensor:
        """Element-wise fusion of (projected) global and region features."""
        if self.fusion == 'mul':
            return global_feat * region_feat
        if self.fusion == 'add':
            return global_feat + region_feat
        if self.fusion == 'max':
            return torch.maximum(global_feat, region_feat)
        return 0.5 * (global_feat + region_feat)

    def propose(self, images: torch.Tensor,
                feat_map: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Heat maps ``(B, H, W)`` and boxes ``(B, 4)`` for the images."""
        heatmap = cam_heatmap(feat_map, images.shape[-2:])
        return heatmap, heatmap_to_boxes(heatmap, self.threshold,
                                         self.connectivity)

    def _first_view(self, inputs: torch.Tensor) -> torch.Tensor:
        if inputs.dim() == 5:
            return inputs[:, 0]
        if inputs.dim() == 4:
            return inputs
        raise ValueError(
            f'{type(self).__name__}: inputs must be (B, C, H, W) or '
            f'(B, V, C, H, W), got shape {tuple(inputs.shape)}')

    def _tag_targets(self, data_samples: Optional[List],
                     batch_size: int,
                     device: torch.device) -> Optional[torch.Tensor]:
        """``(B, num_tags)`` targets, or None when no sample has tags."""
        if not data_samples:
            return None
        has = ['gt_tags' in sample for sample in data_samples]
        if not any(has):
            return None
        name = type(self).__name__
        if not all(has):
            missing = [i for i, h in enumerate(has) if not h]
            raise ValueError(
                f'{name}: samples {missing} of the batch have no gt_tags '
                'while others do; give every training sample a tag vector '
                '(all zeros for "no tag").')
        if len(data_samples) != batch_size:
            raise ValueError(f'{name}: {len(data_samples)} data samples for '
                             f'a batch of {batch_size} images')
        for i, sample in enumerate(data_samples):
            if sample.gt_tags.numel() != self.num_tags:
                path = sample.get('img_path', f'sample {i}')
                raise ValueError(
                    f'{name}: gt_tags of {path} has {sample.gt_tags.numel()} '
                    f'entries but num_tags={self.num_tags}; set num_tags to '
                    'the dataset\'s number of tag names.')
        return torch.stack([s.gt_tags.reshape(-1) for s in data_samples
                            ]).to(device=device, dtype=torch.float32)

    # ------------------------------------------------------------ forward
    def forward(
        self,
        inputs: torch.Tensor,
        visual: VisualFeatures,
        data_samples: Optional[List] = None
    ) -> Tuple[VisualFeatures, Dict[str, torch.Tensor]]:
        """Propose regions, encode and fuse them, classify tags.

        Args:
            inputs (Tensor): ``(B, C, H, W)`` or ``(B, V, C, H, W)``
                normalised images.
            visual (VisualFeatures): Global-branch features; ``feat_map``
                is required.
            data_samples (list, optional): Samples with ``gt_tags``; without
                them no loss is returned.

        Returns:
            tuple: The new ``VisualFeatures`` (fused ``global_feat``; tokens
            = global tokens then region tokens; extras ``tag_logits``
            (fused), ``tag_logits_global``, ``tag_logits_region``,
            ``region_boxes`` ``(B, 4)`` and ``heatmap`` ``(B, H, W)``) and
            the losses ``loss_tag_global``, ``loss_tag_region``,
            ``loss_tag_fused`` (empty without ``gt_tags``).
        """
        name = type(self).__name__
        images = self._first_view(inputs)
        if visual.feat_map is None:
            raise ValueError(f'{name} needs visual.feat_map (the global '
                             'branch\'s last feature map); got None.')
        global_feat = visual.global_feat
        if global_feat.shape[1] != self.in_channels:
            raise ValueError(
                f'{name}: the global feature has {global_feat.shape[1]} '
                f'channels but the proposer expects {self.in_channels}; set '
                'project=True with in_channels='
                f'{global_feat.shape[1]}, or use a region backbone of the '
                'same width as the global one.')
        if visual.feat_map.shape[0] != images.shape[0]:
            raise ValueError(
                f'{name}: feat_map has batch {visual.feat_map.shape[0]} but '
                f'the images have batch {images.shape[0]}')

        heatmap, boxes = self.propose(images, visual.feat_map)
        crops = crop_and_resize(images, boxes, self.crop_size)
        region_map = _last_map(self.region_backbone(crops))
        region_feat = region_map.mean(dim=(2, 3))
        region_tokens = region_map.flatten(2).transpose(1, 2)

        fused = self.fuse(
            self.global_proj(global_feat), self.region_proj(region_feat))
        tokens = torch.cat([
            self.global_proj(visual.tokens),
            self.region_proj(region_tokens)
        ], 1)
        logits_global = self.cls_global(global_feat)
        logits_region = self.cls_region(region_feat)
        logits_fused = self.cls_fused(fused)

        extras = dict(visual.extras)
        extras.update(
            tag_logits=logits_fused,
            tag_logits_global=logits_global,
            tag_logits_region=logits_region,
            region_boxes=boxes,
            heatmap=heatmap)
        losses: Dict[str, torch.Tensor] = {}
        targets = self._tag_targets(data_samples, images.shape[0],
                                    fused.device)
        if targets is not None:
            for key, value in (('global', logits_global),
                               ('region', logits_region),
                               ('fused', logits_fused)):
                losses[f'loss_tag_{key}'] = self.loss_tag(value, targets)
        return visual.replace(
            global_feat=fused, tokens=tokens, extras=extras), losses

    def extra_repr(self) -> str:
        return (f'num_tags={self.num_tags}, threshold={self.threshold}, '
                f'crop_size={self.crop_size}, fusion={self.fusion!r}, '
                f'out_channels={self.out_channels}')
