# Copyright (c) rrgkit contributors. All rights reserved.
"""Largest connected component of a binary map and its bounding box.

Boxes follow rrgkit's pixel-edge convention ``[x1, y1, x2, y2]`` with
``x1 <= x < x2`` and ``y1 <= y < y2`` (the same as the synthetic lesion
boxes), so a box's area is ``(x2 - x1) * (y2 - y1)`` and the whole ``H x W``
image is ``[0, 0, W, H]``.
"""
from typing import Optional, Tuple, Union

import cv2
import numpy as np
import torch

__all__ = ['largest_component', 'largest_component_box']

Box = Tuple[int, int, int, int]
ArrayLike = Union[np.ndarray, torch.Tensor]


def _as_binary_uint8(mask: ArrayLike) -> np.ndarray:
    if isinstance(mask, torch.Tensor):
        mask = mask.detach().cpu().numpy()
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError('connected components need a 2-D (H, W) binary '
                         f'mask, got an array of shape {mask.shape}')
    return np.ascontiguousarray(mask != 0, dtype=np.uint8)


def _check_connectivity(connectivity: int) -> None:
    if connectivity not in (4, 8):
        raise ValueError(
            f'connectivity must be 4 or 8, got {connectivity!r}')


def _label_largest(mask: ArrayLike,
                   connectivity: int) -> Tuple[np.ndarray, int, np.ndarray]:
    """Label components; return labels, the largest label and the stats.

    The largest label is 0 (background) when the mask is empty.
    """
    _check_connectivity(connectivity)
    binary = _as_binary_uint8(mask)
    num, labels, stats, _ = cv2.connectedComponentsWithStats(
        binary, connectivity=connectivity, ltype=cv2.CV_32S)
    if num <= 1:  # only the background
        return labels, 0, stats
    # Label 0 is the background; among equal areas argmax keeps the first
    # label, i.e. the component whose first pixel comes first in scan order.
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return labels, largest, stats


def largest_component(mask: ArrayLike, connectivity: int = 8) -> np.ndarray:
    """Keep only the largest connected component of a binary mask.

    Args:
        mask (np.ndarray | Tensor): ``(H, W)`` mask; non-zero is foreground.
        connectivity (int): 8 (diagonal neighbours touch) or 4.
            Defaults to 8.

    Returns:
        np.ndarray: ``(H, W)`` bool mask of the component with the most
        pixels (ties: the first one in raster-scan order); all False when
        the mask is empty.
    """
    labels, largest, _ = _label_largest(mask, connectivity)
    if largest == 0:
        return np.zeros(labels.shape, dtype=bool)
    return labels == largest


def largest_component_box(mask: ArrayLike,
                          connectivity: int = 8) -> Optional[Box]:
    """Bounding box of the largest connected component of a binary mask.

    Args:
        mask (np.ndarray | Tensor): ``(H, W)`` mask; non-zero is foreground.
        connectivity (int): 8 (diagonal neighbours touch) or 4.
            Defaults to 8.

    Returns:
        tuple | None: ``(x1, y1, x2, y2)`` pixel-edge box of the component
        with the most pixels, or None when the mask is empty.
    """
    _, largest, stats = _label_largest(mask, connectivity)
    if largest == 0:
        return None
    x1 = int(stats[largest, cv2.CC_STAT_LEFT])
    y1 = int(stats[largest, cv2.CC_STAT_TOP])
    x2 = x1 + int(stats[largest, cv2.CC_STAT_WIDTH])
    y2 = y1 + int(stats[largest, cv2.CC_STAT_HEIGHT])
    return x1, y1, x2, y2
