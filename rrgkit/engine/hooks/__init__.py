# Copyright (c) rrgkit contributors. All rights reserved.
from .beta_schedule_hook import BetaScheduleHook
from .checkpoint_guard_hook import CheckpointGuardHook
from .finite_loss_hook import FiniteLossHook, NonFiniteLossError
from .progress_hook import RichProgressHook
from .reference_baseline_hook import MostFrequentReportHook
from .report_visualization_hook import ReportVisualizationHook

__all__ = [
    'BetaScheduleHook', 'CheckpointGuardHook', 'FiniteLossHook',
    'MostFrequentReportHook', 'NonFiniteLossError', 'ReportVisualizationHook',
    'RichProgressHook'
]
