# Copyright (c) rrgkit contributors. All rights reserved.
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .beta_schedule_hook import BetaScheduleHook
from .checkpoint_guard_hook import CheckpointGuardHook
from .finite_loss_hook import FiniteLossHook, NonFiniteLossError
from .memory_format_hook import ChannelsLastHook
from .progress_hook import RichProgressHook
from .reference_baseline_hook import MostFrequentReportHook
from .report_visualization_hook import ReportVisualizationHook
from .resume_state_hook import ResumeStateHook
from .retrieval_bank_hook import (RetrievalBankHook, refresh_retrieval_bank,
                                  retrieval_encoder)

__all__ = [
    'AtomicCheckpointHook', 'BetaScheduleHook', 'ChannelsLastHook',
    'CheckpointGuardHook', 'FiniteLossHook', 'MostFrequentReportHook', 'NonFiniteLossError',
    'ReportVisualizationHook', 'ResumeStateHook', 'RetrievalBankHook',
    'RichProgressHook', 'refresh_retrieval_bank', 'retrieval_encoder'
]
