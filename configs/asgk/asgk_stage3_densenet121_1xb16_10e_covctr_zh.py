# Copyright (c) rrgkit contributors. All rights reserved.
# ASGK stage 3 on COV-CTR Chinese: the Chinese "+IA" model with the
# stage-3 learning rates of the English config (visual 1e-5, ASGK 5e-4).
from mmengine.config import read_base

with read_base():
    from .asgk_ia_densenet121_1xb16_10e_covctr_zh import *  # noqa: F401,F403
    from .asgk_stage3_densenet121_1xb16_10e_covctr_en import \
        optim_wrapper  # noqa: F401
