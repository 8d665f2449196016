# Copyright (c) rrgkit contributors. All rights reserved.
from .hooks import CheckpointGuardHook, MostFrequentReportHook
from .loops import ResumableEpochBasedTrainLoop
from .runners import ReportRunner

__all__ = [
    'CheckpointGuardHook', 'MostFrequentReportHook', 'ReportRunner',
    'ResumableEpochBasedTrainLoop'
]
