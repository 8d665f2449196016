# Copyright (c) rrgkit contributors. All rights reserved.
# Vision-BERT (a baseline row of the ASGK paper's table): as Vision-GPT but
# the decoder blocks are BERT/original-Transformer style: post-LN
# (norm_first=False, no final LayerNorm), causal self-attention so it can
# generate left to right.
from mmengine.config import read_base

with read_base():
    from .vision_gpt_densenet121_1xb16_10e_covctr_en import *  # noqa: F401,F403

model['decoder'].update(norm_first=False)
