# Copyright (c) rrgkit contributors. All rights reserved.
import pytest
import torch

from rrgkit.registry import METRICS


def test_region_iou_against_centred_box():
    metric = METRICS.build(dict(type='RegionIoUMetric'))
    samples = [
        # Proposal exactly on the corner lesion: IoU 1; the centred box of
        # the same size misses it.
        dict(pred_region_box=torch.tensor([0., 0., 10., 10.]),
             gt_boxes=torch.tensor([[0., 0., 10., 10.]]), img_shape=(40, 40)),
        # No lesion: skipped.
        dict(pred_region_box=torch.tensor([5., 5., 9., 9.]),
             gt_boxes=torch.zeros(0, 4), img_shape=(40, 40)),
    ]
    metric.process(None, samples)
    out = metric.evaluate(2)
    assert out['region/IoU'] == pytest.approx(1.0)
    assert out['region/IoU_centred_box'] == pytest.approx(0.0)
    assert out['region/num_images'] == 1.0
    with pytest.raises(KeyError, match='pred_region_box'):
        metric.process(None, [dict(gt_boxes=torch.zeros(0, 4))])
