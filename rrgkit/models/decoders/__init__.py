# Copyright (c) rrgkit contributors. All rights reserved.
from .gpt_decoder import GPTDecoder
from .lstm_decoder import LSTMDecoder

__all__ = ['GPTDecoder', 'LSTMDecoder']
