# Copyright (c) rrgkit contributors. All rights reserved.
from .checkpoint_guard_hook import CheckpointGuardHook
from .reference_baseline_hook import MostFrequentReportHook

__all__ = ['CheckpointGuardHook', 'MostFrequentReportHook']
