# Copyright (c) rrgkit contributors. All rights reserved.
from .report_sample import ReportDataSample

__all__ = ['ReportDataSample']
