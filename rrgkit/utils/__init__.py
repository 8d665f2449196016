# Copyright (c) rrgkit contributors. All rights reserved.
from .checkpoint import (CheckpointError, UnsafeCheckpointError,
                         check_checkpoint_fits_model, safe_load_checkpoint)
from .config_check import UnknownComponentError, check_config_types
from .pretrained import PretrainedInit, load_pretrained
from .weight_converters import convert_state_dict, detect_format

__all__ = [
    'CheckpointError', 'UnsafeCheckpointError', 'safe_load_checkpoint',
    'check_checkpoint_fits_model', 'UnknownComponentError',
    'check_config_types', 'PretrainedInit', 'load_pretrained',
    'convert_state_dict', 'detect_format'
]
