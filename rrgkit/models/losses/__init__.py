# Copyright (c) rrgkit contributors. All rights reserved.
from .nll_loss import ReportNLLLoss
from .tag_losses import TagBCELoss, TagFocalLoss, sigmoid_focal_loss

__all__ = ['ReportNLLLoss', 'TagBCELoss', 'TagFocalLoss', 'sigmoid_focal_loss']
