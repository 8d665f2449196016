# Copyright (c) rrgkit contributors. All rights reserved.
"""rrgkit: a plugin-based toolkit for medical report generation."""
import warnings

# mmcv-lite has no compiled ops; mmpretrain never needs them.
warnings.filterwarnings(
    'ignore', message='Fail to import ``MultiScaleDeformableAttention``')

from .utils import atomic_backend as _atomic  # noqa: E402,F401 (atomic saves)
from .utils import checkpoint as _checkpoint  # noqa: E402,F401 (safe loader)
from .utils import pretrained as _pretrained  # noqa: E402,F401 (Pretrained)
from .version import __version__  # noqa: E402

__all__ = ['__version__']
