# Copyright (c) rrgkit contributors. All rights reserved.
from .checkpoint_vocab import (use_checkpoint_vocabulary,
                               vocab_state_from_checkpoint)

__all__ = ['use_checkpoint_vocabulary', 'vocab_state_from_checkpoint']
