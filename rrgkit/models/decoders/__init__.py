# Copyright (c) rrgkit contributors. All rights reserved.
from .attention_lstm_decoder import AttentionLSTMDecoder
from .gpt_decoder import GPTDecoder
from .lstm_decoder import LSTMDecoder

__all__ = ['AttentionLSTMDecoder', 'GPTDecoder', 'LSTMDecoder']
