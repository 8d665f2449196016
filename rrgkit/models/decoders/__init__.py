# Copyright (c) rrgkit contributors. All rights reserved.
from .lstm_decoder import LSTMDecoder

__all__ = ['LSTMDecoder']
