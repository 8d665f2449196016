# Copyright (c) rrgkit contributors. All rights reserved.
import math

import numpy as np
import pytest
import torch

from rrgkit.evaluation.functional.region_iou import (box_iou,
                                                     centred_box_like,
                                                     max_iou_with_lesions,
                                                     region_iou_report)


def test_box_iou_pairs():
    a = [[0, 0, 10, 10], [5, 5, 15, 15]]
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    iou = box_iou(a, b)
    assert iou.shape == (2, 3)
    assert iou[0, 0] == pytest.approx(1.0)
    assert iou[0, 1] == pytest.approx(50 / 150)
    assert iou[1, 0] == pytest.approx(25 / 175)
    assert iou[0, 2] == 0.0
    # degenerate boxes give 0, not NaN
    assert box_iou([0, 0, 0, 0], [0, 0, 0, 0]).item() == 0.0


def test_best_and_union_modes():
    pred = torch.tensor([0.0, 0.0, 20.0, 10.0])
    gts = [[0, 0, 10, 10], [10, 0, 20, 10]]
    assert max_iou_with_lesions(pred, gts, 'best') == pytest.approx(0.5)
    assert max_iou_with_lesions(pred, gts, 'union') == pytest.approx(1.0)
    with pytest.raises(ValueError, match='no lesion'):
        max_iou_with_lesions(pred, np.zeros((0, 4)))
    with pytest.raises(ValueError, match='mode'):
        max_iou_with_lesions(pred, gts, 'mean')


def test_centred_box_keeps_size_and_is_clipped():
    box = centred_box_like([0, 0, 10, 6], (40, 60))  # (H, W)
    assert box.tolist() == [25.0, 17.0, 35.0, 23.0]
    boxes = centred_box_like(torch.tensor([[0, 0, 10, 6], [0, 0, 80, 20]]),
                             (40, 60))
    assert boxes.shape == (2, 4)
    assert boxes[1].tolist() == [0.0, 10.0, 60.0, 30.0]  # wider than image


def test_report_ignores_images_without_lesions():
    pred = [[0, 0, 10, 10], [30, 30, 40, 40], [0, 0, 5, 5]]
    gts = [[[0, 0, 10, 10]], [[15, 15, 25, 25]], []]
    out = region_iou_report(pred, gts, 40)
    assert out['n'] == 2
    assert out['mean_iou'] == pytest.approx(0.5)  # 1 and 0
    # the centred 10x10 box is [15, 15, 25, 25]: IoU 0 and 1
    assert out['mean_iou_centred'] == pytest.approx(0.5)
    empty = region_iou_report(np.zeros((1, 4)), [[]], 40)
    assert empty['n'] == 0 and math.isnan(empty['mean_iou'])
    with pytest.raises(ValueError, match='one of each'):
        region_iou_report(pred, gts[:2], 40)
