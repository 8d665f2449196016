# Copyright (c) rrgkit contributors. All rights reserved.
"""The data sample that travels with every image through rrgkit."""
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.structures import BaseDataElement

__all__ = ['ReportDataSample']


def _as_tensor(value, dtype) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.to(dtype)
    return torch.as_tensor(np.asarray(value), dtype=dtype)


class ReportDataSample(BaseDataElement):
    """Ground truth and predictions of one study (one or several images).

    Meta fields (set through ``set_metainfo``): ``img_id``, ``img_path``,
    ``ori_shape``, ``img_shape``.

    Data fields:
        gt_report (str): the reference report.
        gt_reports (list[str]): all reference reports of the image, when a
            dataset has several (see :attr:`references`).
        gt_descriptions (list[str]): the K descriptions of a
            multi-description dataset, in the order of its
            ``metainfo['description_names']`` ('' where empty).
        gt_conclusion (str): the diagnostic conclusion text ('' if unknown).
        gt_label (Tensor): diagnostic conclusion class, shape ``()``.
        gt_tags (Tensor): multi-hot medical tags, shape ``(num_tags,)``.
        gt_boxes (Tensor): lesion boxes ``(N, 4)`` in ``x1, y1, x2, y2``
            pixels of the packed image (synthetic data only).
        pred_report (str): the generated report.
        pred_tags (Tensor): tag probabilities, shape ``(num_tags,)``.
        pred_label (Tensor): predicted conclusion class, shape ``()``.
    """

    def set_gt_report(self, report: str) -> 'ReportDataSample':
        """Set the reference report."""
        self.set_field(str(report), 'gt_report', dtype=str)
        return self

    def set_gt_reports(self, reports: Sequence[str]) -> 'ReportDataSample':
        """Set all reference reports."""
        self.set_field([str(r) for r in reports], 'gt_reports', dtype=list)
        return self

    def set_gt_descriptions(self,
                            descriptions: Sequence[str]) -> 'ReportDataSample':
        """Set the K reference descriptions."""
        self.set_field([str(d) for d in descriptions], 'gt_descriptions',
                       dtype=list)
        return self

    def set_gt_conclusion(self, conclusion: str) -> 'ReportDataSample':
        """Set the reference conclusion text."""
        self.set_field(str(conclusion), 'gt_conclusion', dtype=str)
        return self

    def set_gt_label(self, label: Union[int, torch.Tensor]) -> 'ReportDataSample':
        """Set the diagnostic conclusion label."""
        self.set_field(_as_tensor(label, torch.long).reshape(()), 'gt_label',
                       dtype=torch.Tensor)
        return self

    def set_gt_tags(self, tags: Union[Sequence[float], np.ndarray,
                                      torch.Tensor]) -> 'ReportDataSample':
        """Set the multi-hot tag vector."""
        self.set_field(_as_tensor(tags, torch.float32).reshape(-1), 'gt_tags',
                       dtype=torch.Tensor)
        return self

    def set_gt_boxes(self, boxes) -> 'ReportDataSample':
        """Set lesion boxes as an ``(N, 4)`` float tensor."""
        self.set_field(_as_tensor(boxes, torch.float32).reshape(-1, 4),
                       'gt_boxes', dtype=torch.Tensor)
        return self

    def set_pred_report(self, report: str) -> 'ReportDataSample':
        """Set the generated report."""
        self.set_field(str(report), 'pred_report', dtype=str)
        return self

    @property
    def references(self) -> List[str]:
        """All reference reports of this sample (one unless several given)."""
        refs: Optional[Sequence[str]] = self.get('gt_reports')
        if refs:
            return list(refs)
        return [self.gt_report] if 'gt_report' in self else []
