# Copyright (c) rrgkit contributors. All rights reserved.
"""Models; importing this registers every component in ``rrgkit.MODELS``."""
from . import (backbones, decoders, encoders, generators, losses,  # noqa
               region_proposers, tokenizers)
from .backbones import CachedFeatures, EcNet
from .decoders import (AdaptiveAttentionDecoder, AttentionLSTMDecoder,
                       CoAttention, GPTDecoder, HierarchicalLSTMDecoder,
                       LSTMDecoder, R2GenDecoder, SentenceLSTM, WordLSTM)
from .encoders import TagGraphEncoder, TransformerVisualEncoder
from .generators import (HierarchicalReportGenerator,
                         ReportDataPreprocessor, ReportGenerator,
                         SCSTGenerator, TagClassifier,
                         TaskDuplicatedGenerator, TextbookPretrainer)
from .losses import ReportNLLLoss, TagBCELoss, TagFocalLoss
from .region_proposers import AASProposer, CAMThresholdProposer
from .tokenizers import ReportTokenizer

__all__ = [
    'backbones', 'decoders', 'encoders', 'generators', 'losses',
    'region_proposers', 'tokenizers', 'LSTMDecoder', 'ReportGenerator',
    'ReportDataPreprocessor', 'ReportNLLLoss', 'ReportTokenizer',
    'TagGraphEncoder', 'CAMThresholdProposer', 'TagFocalLoss', 'TagBCELoss',
    'EcNet', 'AttentionLSTMDecoder', 'GPTDecoder', 'TagClassifier',
    'TaskDuplicatedGenerator', 'TextbookPretrainer', 'AASProposer',
    'AdaptiveAttentionDecoder', 'R2GenDecoder', 'TransformerVisualEncoder',
    'CoAttention', 'HierarchicalLSTMDecoder', 'SentenceLSTM', 'WordLSTM',
    'HierarchicalReportGenerator', 'SCSTGenerator', 'CachedFeatures'
]
