# Copyright (c) rrgkit contributors. All rights reserved.
# ASGK stage 2 on COV-CTR Chinese: the English stage-2 settings with the
# Chinese records and their 63 mined tags.
from mmengine.config import read_base

with read_base():
    from .asgk_stage2_densenet121_1xb16_10e_covctr_en import *  # noqa
    from .asgk_ia_densenet121_1xb16_10e_covctr_zh import (  # noqa: F401
        num_tags, test_dataloader, train_dataloader, val_dataloader)

model['region_proposer']['num_tags'] = num_tags
