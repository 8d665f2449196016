# Copyright (c) rrgkit contributors. All rights reserved.
# ASGK stage 2 on synthetic data: the global and region DenseNets trained
# jointly on the 15 tags with focal loss (TagClassifier), before the whole
# network. Its checkpoint loads into the ASGK model (same attribute names).
from mmengine.config import read_base

with read_base():
    from .asgk_densenet_tiny_1xb16_20e_synth import *  # noqa: F401,F403

from rrgkit.models.generators import TagClassifier  # noqa: E402

model = dict(
    type=TagClassifier,
    backbone=model['backbone'],
    region_proposer=model['region_proposer'])
optim_wrapper.optimizer.update(lr=1e-3)
train_cfg.update(max_epochs=10, val_interval=2)
param_scheduler = [dict(type=MultiStepLR, by_epoch=True, milestones=[8],
                        gamma=0.1)]
val_evaluator = [dict(type=TagAUCMetric), dict(type=RegionIoUMetric)]
test_evaluator = val_evaluator
default_hooks['checkpoint'].update(save_best='tags/AUC', rule='greater')
custom_hooks = [h for h in custom_hooks
                if h['type'] is not MostFrequentReportHook]
