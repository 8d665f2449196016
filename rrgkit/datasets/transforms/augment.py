# Copyright (c) rrgkit contributors. All rights reserved.
"""Mild geometric augmentation for CT slices and radiographs.

No flips: a horizontal flip swaps left and right in the image but not in
the report ("right upper lobe" would then describe the wrong side).
"""
from typing import Sequence, Tuple

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from rrgkit.registry import TRANSFORMS

__all__ = ['RandomAffineView', 'affine_boxes']

_INTERP = {
    'nearest': cv2.INTER_NEAREST,
    'bilinear': cv2.INTER_LINEAR,
    'bicubic': cv2.INTER_CUBIC
}


def affine_boxes(boxes: np.ndarray, matrix: np.ndarray,
                 size: Tuple[int, int]) -> np.ndarray:
    """Map ``(N, 4)`` boxes through a 2x3 affine matrix.

    Each box becomes the axis-aligned bounding box of its four moved
    corners, clipped to the image.

    Args:
        boxes (np.ndarray): ``x1, y1, x2, y2`` boxes, shape ``(N, 4)``.
        matrix (np.ndarray): The 2x3 matrix used with ``cv2.warpAffine``.
        size (tuple[int, int]): Image ``(h, w)`` to clip to.

    Returns:
        np.ndarray: float32 boxes, shape ``(N, 4)``.
    """
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    x1, y1, x2, y2 = boxes.T
    corners = np.stack([
        np.stack([x1, y1], 1),
        np.stack([x2, y1], 1),
        np.stack([x1, y2], 1),
        np.stack([x2, y2], 1)
    ], 1)  # (N, 4, 2)
    moved = corners @ matrix[:, :2].T + matrix[:, 2]
    h, w = size
    out = np.concatenate([moved.min(1), moved.max(1)], axis=1)
    out[:, 0::2] = out[:, 0::2].clip(0, w)
    out[:, 1::2] = out[:, 1::2].clip(0, h)
    return out.astype(np.float32)


@TRANSFORMS.register_module()
class RandomAffineView(BaseTransform):
    """Small random rotation, scaling and shift about the image centre.

    The output keeps the input size; uncovered pixels get ``border_value``.
    ``gt_bboxes`` (as set by ``LoadReportImage``), if present, is moved with
    the image: each box becomes the bounding box of its moved corners,
    clipped to the image. Boxes are never dropped, so a box pushed out of
    the image ends up with zero area. For multi-view records wrap it in
    ``EachView``.

    Args:
        max_rotate_degree (float): Rotation drawn from
            ``[-max, max]`` degrees. Defaults to 10.
        scale_range (Sequence[float]): Isotropic scale drawn from this
            range. Defaults to (0.9, 1.1).
        max_translate_ratio (float): Shift drawn from ``[-r, r]`` times the
            width (x) and height (y). Defaults to 0.05.
        prob (float): Probability of applying it. Defaults to 1.0.
        border_value (int): Fill value of uncovered pixels. Defaults to 0.
        interpolation (str): 'nearest', 'bilinear' or 'bicubic'.
            Defaults to 'bilinear'.
    """

    def __init__(self,
                 max_rotate_degree: float = 10.0,
                 scale_range: Sequence[float] = (0.9, 1.1),
                 max_translate_ratio: float = 0.05,
                 prob: float = 1.0,
                 border_value: int = 0,
                 interpolation: str = 'bilinear') -> None:
        if len(scale_range) != 2 or not 0 < scale_range[0] <= scale_range[1]:
            raise ValueError('scale_range must be (low, high) with 0 < low '
                             f'<= high, got {scale_range!r}.')
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must be in [0, 1], got {prob}.')
        if interpolation not in _INTERP:
            raise ValueError(f'interpolation must be one of {list(_INTERP)}, '
                             f'got {interpolation!r}.')
        self.max_rotate_degree = float(max_rotate_degree)
        self.scale_range = (float(scale_range[0]), float(scale_range[1]))
        self.max_translate_ratio = float(max_translate_ratio)
        self.prob = float(prob)
        self.border_value = border_value
        self.interpolation = interpolation

    def get_matrix(self, h: int, w: int) -> np.ndarray:
        """Draw a random 2x3 affine matrix for an ``h x w`` image."""
        angle = np.random.uniform(-self.max_rotate_degree,
                                  self.max_rotate_degree)
        scale = np.random.uniform(*self.scale_range)
        tx, ty = np.random.uniform(-self.max_translate_ratio,
                                   self.max_translate_ratio,
                                   size=2)
        matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle, scale)
        matrix[:, 2] += (tx * w, ty * h)
        return matrix

    def transform(self, results: dict) -> dict:
        """Warp ``results['img']`` (and ``gt_bboxes``) in place."""
        img = results['img']
        if isinstance(img, list):
            raise TypeError('RandomAffineView got a list of views; wrap it: '
                            "dict(type='EachView', transforms=[dict(type="
                            "'RandomAffineView')]).")
        if np.random.rand() >= self.prob:
            return results
        h, w = img.shape[:2]
        matrix = self.get_matrix(h, w)
        results['img'] = cv2.warpAffine(img,
                                        matrix, (w, h),
                                        flags=_INTERP[self.interpolation],
                                        borderMode=cv2.BORDER_CONSTANT,
                                        borderValue=(self.border_value, ) * 4)
        if results.get('gt_bboxes') is not None:
            results['gt_bboxes'] = affine_boxes(results['gt_bboxes'], matrix,
                                                (h, w))
        results['affine_matrix'] = matrix
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}('
                f'max_rotate_degree={self.max_rotate_degree}, '
                f'scale_range={self.scale_range}, '
                f'max_translate_ratio={self.max_translate_ratio}, '
                f'prob={self.prob}, border_value={self.border_value}, '
                f'interpolation={self.interpolation!r})')
