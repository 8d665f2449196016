# Copyright (c) rrgkit contributors. All rights reserved.
# ASGK on the embedded synthetic CT data (see configs/asgk/).
from mmengine.config import read_base

with read_base():
    from .asgk.asgk_densenet_tiny_1xb16_20e_synth import *  # noqa: F401,F403
