# Copyright (c) rrgkit contributors. All rights reserved.
"""Models; importing this registers every component in ``rrgkit.MODELS``."""
from . import (backbones, decoders, encoders, generators, losses,  # noqa
               region_proposers, tokenizers)
from .decoders import LSTMDecoder
from .encoders import TagGraphEncoder
from .generators import ReportDataPreprocessor, ReportGenerator
from .losses import ReportNLLLoss, TagBCELoss, TagFocalLoss
from .region_proposers import CAMThresholdProposer
from .tokenizers import ReportTokenizer

__all__ = [
    'backbones', 'decoders', 'encoders', 'generators', 'losses',
    'region_proposers', 'tokenizers', 'LSTMDecoder', 'ReportGenerator',
    'ReportDataPreprocessor', 'ReportNLLLoss', 'ReportTokenizer',
    'TagGraphEncoder', 'CAMThresholdProposer', 'TagFocalLoss', 'TagBCELoss'
]
