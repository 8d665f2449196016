# Copyright (c) rrgkit contributors. All rights reserved.
"""How well proposed regions cover the lesions (synthetic data only).

Boxes are ``[x1, y1, x2, y2]`` pixel edges (``x1 <= x < x2``), the convention
of rrgkit's ``gt_boxes`` and of the CAM-threshold proposer's
``region_boxes``; a box's area is ``(x2 - x1) * (y2 - y1)``. Image sizes are
``(H, W)``, as in mmengine's ``img_shape``.
"""
import math
from typing import Dict, Sequence, Union

import numpy as np
import torch

__all__ = [
    'box_iou', 'max_iou_with_lesions', 'centred_box_like',
    'region_iou_report'
]

BoxLike = Union[torch.Tensor, np.ndarray, Sequence]
IOU_MODES = ('best', 'union')


def _boxes(boxes: BoxLike, name: str) -> torch.Tensor:
    """``(N, 4)`` float64 tensor from any array-like of boxes."""
    if isinstance(boxes, torch.Tensor):
        out = boxes.detach().cpu().to(torch.float64)
    else:
        out = torch.as_tensor(np.asarray(boxes, dtype=np.float64))
    if out.numel() == 0:
        return out.reshape(0, 4)
    if out.shape[-1] != 4 or out.dim() > 2:
        raise ValueError(f'{name} must be a box [x1, y1, x2, y2] or an '
                         f'(N, 4) array of boxes, got shape '
                         f'{tuple(out.shape)}')
    return out.reshape(-1, 4)


def _area(boxes: torch.Tensor) -> torch.Tensor:
    return ((boxes[:, 2] - boxes[:, 0]).clamp(min=0) *
            (boxes[:, 3] - boxes[:, 1]).clamp(min=0))


def box_iou(a: BoxLike, b: BoxLike) -> torch.Tensor:
    """Pairwise intersection over union.

    Args:
        a (Tensor | np.ndarray | Sequence): ``(N, 4)`` boxes (or one box).
        b (Tensor | np.ndarray | Sequence): ``(M, 4)`` boxes (or one box).

    Returns:
        Tensor: ``(N, M)`` float64 IoUs; 0 where the union is empty.
    """
    a, b = _boxes(a, 'box_iou(a)'), _boxes(b, 'box_iou(b)')
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    union = _area(a)[:, None] + _area(b)[None, :] - inter
    return torch.where(union > 0, inter / union.clamp(min=1e-12),
                       torch.zeros_like(inter))


def max_iou_with_lesions(pred_box: BoxLike,
                         gt_boxes: BoxLike,
                         mode: str = 'best') -> float:
    """IoU of one proposed region with an image's lesions.

    Args:
        pred_box (Tensor | np.ndarray | Sequence): The proposed box.
        gt_boxes (Tensor | np.ndarray | Sequence): ``(M, 4)`` lesion boxes,
            ``M >= 1``.
        mode (str): ``'best'``: the largest IoU over the lesion boxes (the
            best-matching lesion); ``'union'``: the IoU with the bounding
            box of all lesions (rewards a region that spans several lesions).
            Defaults to ``'best'``.

    Returns:
        float: The IoU in ``[0, 1]``.
    """
    if mode not in IOU_MODES:
        raise ValueError(f'max_iou_with_lesions: mode must be one of '
                         f'{IOU_MODES}, got {mode!r}')
    pred = _boxes(pred_box, 'pred_box')
    if pred.shape[0] != 1:
        raise ValueError('max_iou_with_lesions takes one predicted box, got '
                         f'{pred.shape[0]}')
    gts = _boxes(gt_boxes, 'gt_boxes')
    if gts.shape[0] == 0:
        raise ValueError('max_iou_with_lesions: the image has no lesion box; '
                         'skip it (region_iou_report does so).')
    if mode == 'union':
        gts = torch.cat([gts[:, :2].amin(0), gts[:, 2:].amax(0)])[None]
    return float(box_iou(pred, gts).max())


def centred_box_like(pred_box: BoxLike,
                     image_size: Union[int, Sequence[int]]) -> torch.Tensor:
    """A box with the same width and height, centred in the image.

    Same width and height means same area (and aspect) as ``pred_box``; the
    result is clipped to the image, which only matters for boxes larger
    than the image.

    Args:
        pred_box (Tensor | np.ndarray | Sequence): One box ``(4,)`` or
            boxes ``(N, 4)``.
        image_size (int | Sequence[int]): ``(H, W)``, or one int for a
            square image.

    Returns:
        Tensor: float64 box(es), the same shape as ``pred_box``.
    """
    H, W = ((image_size, image_size) if isinstance(image_size, int) else
            (image_size[0], image_size[1]))
    boxes = _boxes(pred_box, 'pred_box')
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    out = torch.stack([(W - w) / 2, (H - h) / 2, (W + w) / 2, (H + h) / 2],
                      1)
    out[:, 0::2] = out[:, 0::2].clamp(0, W)
    out[:, 1::2] = out[:, 1::2].clamp(0, H)
    single = (pred_box.dim() if isinstance(pred_box, torch.Tensor) else
              np.ndim(pred_box)) == 1
    return out[0] if single else out


def region_iou_report(pred_boxes: BoxLike,
                      gt_boxes_list: Sequence[BoxLike],
                      image_size: Union[int, Sequence[int]],
                      mode: str = 'best') -> Dict[str, float]:
    """Mean IoU of proposed regions vs. a same-size centred-box baseline.

    Images without lesion boxes are ignored.

    Args:
        pred_boxes (Tensor | np.ndarray | Sequence): ``(N, 4)`` proposed
            boxes, one per image.
        gt_boxes_list (Sequence): ``N`` arrays of lesion boxes ``(M_i, 4)``.
        image_size (int | Sequence[int]): ``(H, W)`` of the images the
            boxes refer to.
        mode (str): ``'best'`` or ``'union'``, see
            :func:`max_iou_with_lesions`. Defaults to ``'best'``.

    Returns:
        dict: ``mean_iou`` (proposed boxes), ``mean_iou_centred`` (each
        proposed box moved to the image centre) and ``n`` (images with
        lesions); the means are NaN when ``n == 0``.
    """
    preds = _boxes(pred_boxes, 'pred_boxes')
    if preds.shape[0] != len(gt_boxes_list):
        raise ValueError(f'region_iou_report: {preds.shape[0]} predicted '
                         f'boxes but {len(gt_boxes_list)} lesion lists; give '
                         'one of each per image.')
    centred = centred_box_like(preds, image_size)
    ious, ious_centred = [], []
    for pred, base, gts in zip(preds, centred, gt_boxes_list):
        gts = _boxes(gts, 'gt_boxes')
        if gts.shape[0] == 0:
            continue
        ious.append(max_iou_with_lesions(pred, gts, mode))
        ious_centred.append(max_iou_with_lesions(base, gts, mode))
    n = len(ious)
    return dict(
        mean_iou=float(np.mean(ious)) if n else math.nan,
        mean_iou_centred=float(np.mean(ious_centred)) if n else math.nan,
        n=n)
