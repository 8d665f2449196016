# Copyright (c) rrgkit contributors. All rights reserved.
from .clinical_tag_metric import ClinicalTagMetric
from .dca_metric import DiagnosticAccuracyMetric, aggregate_runs, mean_std
from .label_auc import LabelAUCMetric
from .region_iou_metric import RegionIoUMetric
from .report_metric import ReportMetric
from .tag_auc import TagAUCMetric

__all__ = [
    'ReportMetric', 'TagAUCMetric', 'LabelAUCMetric', 'RegionIoUMetric',
    'DiagnosticAccuracyMetric', 'ClinicalTagMetric', 'mean_std',
    'aggregate_runs'
]
