# Copyright (c) rrgkit contributors. All rights reserved.
# ASGK ablation "Baseline" (Table 2): no auxiliary signals. The global
# DenseNet-121 feeds the medical tag graph and the GPT decoder directly.
from mmengine.config import read_base

with read_base():
    from .asgk_ia_densenet121_1xb16_10e_covctr_zh import *  # noqa: F401,F403

model['region_proposer'] = None
