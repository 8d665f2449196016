# Copyright (c) rrgkit contributors. All rights reserved.
"""IoU of proposed regions with ground-truth lesion boxes."""
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from rrgkit.evaluation.functional.region_iou import region_iou_report
from rrgkit.registry import METRICS

__all__ = ['RegionIoUMetric']


@METRICS.register_module()
class RegionIoUMetric(BaseMetric):
    """Region proposer boxes against lesion boxes, beside a centred box.

    For every image with lesions (``gt_boxes``, e.g. the synthetic CT data)
    the IoU of ``pred_region_box`` with the lesions is compared with the IoU
    of a box of the same size centred in the image, the baseline a region
    proposer has to beat. Images without lesions are skipped.

    Args:
        mode (str): ``'best'`` (best-matching lesion) or ``'union'`` (the box
            around all lesions). Defaults to ``'best'``.
        collect_device (str): Defaults to ``'cpu'``.
        prefix (str, optional): Defaults to ``'region'``.
    """

    default_prefix: Optional[str] = 'region'

    def __init__(self, mode: str = 'best', collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.mode = mode

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'pred_region_box' not in sample:
                raise KeyError('RegionIoUMetric needs pred_region_box: use a '
                               'model with a region proposer.')
            gt = sample.get('gt_boxes')
            gt = np.zeros((0, 4)) if gt is None else np.asarray(gt.cpu())
            self.results.append((np.asarray(sample['pred_region_box'].cpu()),
                                 gt, tuple(sample['img_shape'][:2])))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        shapes = {shape for _, _, shape in results}
        if len(shapes) != 1:
            raise ValueError('RegionIoUMetric expects one image size, got '
                             f'{sorted(shapes)}; resize to a fixed size.')
        report = region_iou_report(
            np.stack([box for box, _, _ in results]),
            [gt for _, gt, _ in results], shapes.pop(), mode=self.mode)
        return dict(
            IoU=float(report['mean_iou']),
            IoU_centred_box=float(report['mean_iou_centred']),
            num_images=float(report['n']))
