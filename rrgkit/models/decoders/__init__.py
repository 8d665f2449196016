# Copyright (c) rrgkit contributors. All rights reserved.
from .adaptive_attention_decoder import AdaptiveAttentionDecoder
from .attention_lstm_decoder import AttentionLSTMDecoder
from .gpt_decoder import GPTDecoder
from .hierarchical_lstm import (CoAttention, HierarchicalLSTMDecoder,
                                SentenceLSTM, WordLSTM)
from .lstm_decoder import LSTMDecoder
from .r2gen_decoder import R2GenDecoder
from .relational_memory import ConditionalLayerNorm, RelationalMemory

__all__ = [
    'AdaptiveAttentionDecoder', 'AttentionLSTMDecoder', 'GPTDecoder',
    'LSTMDecoder', 'R2GenDecoder', 'RelationalMemory', 'ConditionalLayerNorm',
    'CoAttention', 'HierarchicalLSTMDecoder', 'SentenceLSTM', 'WordLSTM'
]
