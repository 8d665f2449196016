# Copyright (c) rrgkit contributors. All rights reserved.
"""Models; importing this registers every component in ``rrgkit.MODELS``."""
from . import (backbones, decoders, encoders, generators, losses,  # noqa
               region_proposers, tokenizers)
from .decoders import LSTMDecoder
from .generators import ReportDataPreprocessor, ReportGenerator
from .losses import ReportNLLLoss
from .tokenizers import ReportTokenizer

__all__ = [
    'backbones', 'decoders', 'encoders', 'generators', 'losses',
    'region_proposers', 'tokenizers', 'LSTMDecoder', 'ReportGenerator',
    'ReportDataPreprocessor', 'ReportNLLLoss', 'ReportTokenizer'
]
