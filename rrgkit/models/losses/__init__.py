# Copyright (c) rrgkit contributors. All rights reserved.
from .nll_loss import ReportNLLLoss

__all__ = ['ReportNLLLoss']
