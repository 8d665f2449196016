# Copyright (c) rrgkit contributors. All rights reserved.
from .decoding import (DECODE_DEFAULTS, DecodingConfigError, beam_search,
                       decode, greedy_decode, index_state, resolve_decode_cfg)
from .grad_balance import scale_grad, sigmoid_ramp
from .sampling import SampledReports, sample_decode
from .visual_features import VisualFeatures, pool_feature_map

__all__ = [
    'VisualFeatures', 'pool_feature_map', 'beam_search', 'greedy_decode',
    'index_state', 'scale_grad', 'sigmoid_ramp', 'decode',
    'resolve_decode_cfg', 'DecodingConfigError', 'DECODE_DEFAULTS',
    'SampledReports', 'sample_decode'
]
