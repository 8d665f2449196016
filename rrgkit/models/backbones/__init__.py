# Copyright (c) rrgkit contributors. All rights reserved.
"""Image backbones: image -> tuple of feature maps (the last one is used)."""
from .cached_features import CachedFeatures, FrozenFeatureExtractor
from .ecnet import EcBottleneck, EcNet

__all__ = [
    'EcNet', 'EcBottleneck', 'CachedFeatures', 'FrozenFeatureExtractor'
]
