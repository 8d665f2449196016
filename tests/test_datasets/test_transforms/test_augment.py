# Copyright (c) rrgkit contributors. All rights reserved.
import cv2
import numpy as np
import pytest

from rrgkit.datasets.transforms import RandomAffineView, affine_boxes
from rrgkit.registry import TRANSFORMS


def test_affine_boxes_rotation_and_clip():
    # 90 degrees about (5, 5): the box's corners rotate, the bbox is taken.
    matrix = cv2.getRotationMatrix2D((5.0, 5.0), 90, 1.0)
    boxes = affine_boxes(np.array([[1, 2, 3, 8]]), matrix, (10, 10))
    np.testing.assert_allclose(boxes, [[2, 7, 8, 9]], atol=1e-5)
    shifted = affine_boxes(np.array([[6, 6, 9, 9]]),
                           np.array([[1., 0, 3], [0, 1, -8]]), (10, 10))
    np.testing.assert_allclose(shifted, [[9, 0, 10, 1]])


def test_random_affine_view_image_and_boxes():
    np.random.seed(0)
    img = np.zeros((40, 60, 3), np.uint8)
    img[10:20, 20:30] = 255
    aug = TRANSFORMS.build(dict(type='RandomAffineView'))
    out = aug(
        dict(img=img.copy(),
             gt_bboxes=np.array([[20, 10, 30, 20]], np.float32)))
    assert out['img'].shape == (40, 60, 3) and out['img'].dtype == np.uint8
    assert not np.array_equal(out['img'], img)
    # The warped white square lies inside the warped box.
    x1, y1, x2, y2 = out['gt_bboxes'][0]
    ys, xs = np.nonzero(out['img'][..., 0] > 128)
    assert xs.min() >= x1 - 1 and xs.max() <= x2 + 1
    assert ys.min() >= y1 - 1 and ys.max() <= y2 + 1
    # Small transform: the box barely moves.
    assert np.abs(out['gt_bboxes'][0] - [20, 10, 30, 20]).max() < 8


def test_random_affine_view_grayscale_prob_and_list():
    img = np.full((16, 16), 7, np.uint8)
    out = RandomAffineView(prob=0.0)(dict(img=img))
    assert out['img'] is img
    out = RandomAffineView(max_rotate_degree=0,
                           scale_range=(1, 1),
                           max_translate_ratio=0)(dict(img=img.copy()))
    np.testing.assert_array_equal(out['img'], img)
    with pytest.raises(TypeError, match='EachView'):
        RandomAffineView()(dict(img=[img, img]))
    with pytest.raises(ValueError, match='scale_range'):
        RandomAffineView(scale_range=(1.1, 0.9))
