# Copyright (c) rrgkit contributors. All rights reserved.
from .report_metric import ReportMetric

__all__ = ['ReportMetric']
