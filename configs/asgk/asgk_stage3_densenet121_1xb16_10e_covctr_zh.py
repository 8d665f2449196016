# Copyright (c) rrgkit contributors. All rights reserved.
# ASGK stage 3: the whole network, starting from stage 2 (DenseNets) and
# stage 1 (decoder). Paper: Adam, visual lr 1e-5, ASGK lr 5e-4, all loss
# weights 1.
from mmengine.config import read_base

with read_base():
    from .asgk_ia_densenet121_1xb16_10e_covctr_zh import *  # noqa: F401,F403

optim_wrapper.update(
    optimizer=dict(type=Adam, lr=5e-4),
    paramwise_cfg=dict(
        custom_keys={
            'backbone': dict(lr_mult=0.02),  # 1e-5 (also the region one)
        },
        # The decoder's output layer is tied to its word embedding.
        bypass_duplicate=True))
