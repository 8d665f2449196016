# Copyright (c) rrgkit contributors. All rights reserved.
from .build import build_runner
from .report_runner import ReportRunner, sync_model_state

__all__ = ['ReportRunner', 'build_runner', 'sync_model_state']
