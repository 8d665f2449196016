# Copyright (c) rrgkit contributors. All rights reserved.
"""An example rrgkit plugin: a GRU decoder and a centre-crop proposer.

Importing this package registers both components into rrgkit's ``MODELS``
registry; nothing in ``rrgkit/`` changes.
"""
from .centre_crop_proposer import CentreCropProposer, centre_box
from .gru_attention_decoder import GRUAttentionDecoder

__all__ = ['CentreCropProposer', 'GRUAttentionDecoder', 'centre_box']
