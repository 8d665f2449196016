# Copyright (c) rrgkit contributors. All rights reserved.
# Vision-BERT on the synthetic CT data: post-LN decoder blocks.
from mmengine.config import read_base

with read_base():
    from .vision_gpt_densenet_tiny_1xb16_20e_synth import *  # noqa: F401,F403

model['decoder'].update(norm_first=False)
