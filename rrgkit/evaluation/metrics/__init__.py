# Copyright (c) rrgkit contributors. All rights reserved.
from .region_iou_metric import RegionIoUMetric
from .report_metric import ReportMetric
from .tag_auc import TagAUCMetric

__all__ = ['ReportMetric', 'TagAUCMetric', 'RegionIoUMetric']
