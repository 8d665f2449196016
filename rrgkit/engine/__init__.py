# Copyright (c) rrgkit contributors. All rights reserved.
from .hooks import CheckpointGuardHook, MostFrequentReportHook

__all__ = ['CheckpointGuardHook', 'MostFrequentReportHook']
