# Copyright (c) rrgkit contributors. All rights reserved.
from .augment import RandomAffineView, affine_boxes
from .caching import CachedTransforms, cache_pipeline
from .feature_cache import LoadCachedFeatures, feature_cache_pipeline
from .formatting import PackReportInputs
from .loading import LoadReportImage, read_image
from .wrappers import EachView

__all__ = [
    'LoadReportImage', 'read_image', 'PackReportInputs', 'EachView',
    'RandomAffineView', 'affine_boxes', 'CachedTransforms',
    'cache_pipeline', 'LoadCachedFeatures', 'feature_cache_pipeline'
]
