# Copyright (c) rrgkit contributors. All rights reserved.
from .hooks import CheckpointGuardHook, MostFrequentReportHook
from .loops import ResumableEpochBasedTrainLoop
from .runners import ReportRunner
from .strategies import (ReportDDPStrategy, ReportDeepSpeedStrategy,
                         ReportFSDPStrategy)

__all__ = [
    'CheckpointGuardHook', 'MostFrequentReportHook', 'ReportRunner',
    'ResumableEpochBasedTrainLoop', 'ReportDDPStrategy', 'ReportFSDPStrategy',
    'ReportDeepSpeedStrategy'
]
