# Copyright (c) rrgkit contributors. All rights reserved.
# MDNet on the embedded synthetic CT data (see configs/mdnet/).
from mmengine.config import read_base

with read_base():
    from .mdnet.mdnet_ecnet_tiny_1xb16_20e_synth import *  # noqa: F401,F403
