# Copyright (c) rrgkit contributors. All rights reserved.
from .checkpoint import (CheckpointError, UnsafeCheckpointError,
                         check_checkpoint_fits_model, safe_load_checkpoint)
from .config_check import UnknownComponentError, check_config_types

__all__ = [
    'CheckpointError', 'UnsafeCheckpointError', 'safe_load_checkpoint',
    'check_checkpoint_fits_model', 'UnknownComponentError',
    'check_config_types'
]
