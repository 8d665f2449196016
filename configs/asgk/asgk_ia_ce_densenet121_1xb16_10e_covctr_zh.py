# Copyright (c) rrgkit contributors. All rights reserved.
# ASGK ablation "+IA with CE" (Table 2): the region branches' tags trained
# with binary cross-entropy instead of focal loss.
from mmengine.config import read_base

with read_base():
    from .asgk_ia_densenet121_1xb16_10e_covctr_zh import *  # noqa: F401,F403

from rrgkit.models import TagBCELoss  # noqa: E402

model['region_proposer']['loss_tag'] = dict(type=TagBCELoss)
