# Copyright (c) rrgkit contributors. All rights reserved.
from .decoding import beam_search, greedy_decode, index_state
from .visual_features import VisualFeatures, pool_feature_map

__all__ = [
    'VisualFeatures', 'pool_feature_map', 'beam_search', 'greedy_decode',
    'index_state'
]
