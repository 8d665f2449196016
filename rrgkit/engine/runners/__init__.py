# Copyright (c) rrgkit contributors. All rights reserved.
from .report_runner import ReportRunner, sync_model_state

__all__ = ['ReportRunner', 'sync_model_state']
