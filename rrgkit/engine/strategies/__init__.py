# Copyright (c) rrgkit contributors. All rights reserved.
from .report_strategies import (ReportDDPStrategy, ReportDeepSpeedStrategy,
                                ReportFSDPStrategy)

__all__ = [
    'ReportDDPStrategy', 'ReportDeepSpeedStrategy', 'ReportFSDPStrategy'
]
