# Copyright (c) rrgkit contributors. All rights reserved.
# ASGK stage 2: the global and region DenseNet-121 trained jointly on the
# mined tags (focal loss on the global, region and fused branches). Paper:
# lr 1e-2 decayed x0.1 every 10 epochs, batch 32, 224 px. CPU schedule:
# 128 px, batch 16, 10 epochs. The best checkpoint is chosen on val tag AUC.
from mmengine.config import read_base

with read_base():
    from .asgk_ia_densenet121_1xb16_10e_covctr_zh import *  # noqa: F401,F403

from mmengine.optim import StepLR  # noqa: E402
from torch.optim import SGD  # noqa: E402

from rrgkit.models.generators import TagClassifier  # noqa: E402

model = dict(
    type=TagClassifier,
    backbone=model['backbone'],
    region_proposer=model['region_proposer'])
optim_wrapper = dict(
    type=OptimWrapper,
    optimizer=dict(type=SGD, lr=1e-2, momentum=0.9, weight_decay=1e-4),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [dict(type=StepLR, by_epoch=True, step_size=10, gamma=0.1)]
train_cfg.update(max_epochs=10, val_interval=1)
val_evaluator = dict(type=TagAUCMetric)
test_evaluator = val_evaluator
default_hooks['checkpoint'].update(save_best='tags/AUC', rule='greater')
custom_hooks = [h for h in custom_hooks
                if h['type'] is not MostFrequentReportHook]
