# Copyright (c) rrgkit contributors. All rights reserved.
# ASGK on the embedded synthetic CT data, sized for 2 CPU cores: small
# DenseNets from scratch at 64 px, 64 px region crops, a 128-d tag graph over
# the dataset's 15 tags (prior: tag co-occurrence of the training split) and
# a 3-block GPT decoder. Validation also reports tag AUC and the IoU of the
# CAM-threshold region with the true lesion boxes against a centred box.
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.synth_ct import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.asgk_densenet121 import *  # noqa: F401,F403
    from .._base_.schedules.adam_20e import *  # noqa: F401,F403

from rrgkit.engine.hooks import MostFrequentReportHook  # noqa: E402
from rrgkit.evaluation import RegionIoUMetric, TagAUCMetric  # noqa: E402

num_tags = 15
tiny_densenet = dict(
    type=DenseNet,
    arch=dict(growth_rate=16, depths=[3, 4, 4], init_channels=32))
model.update(
    backbone=tiny_densenet,
    tokenizer=dict(
        type=ReportTokenizer,
        language='en',
        min_freq=2,
        corpus=train_dataloader['dataset']),
    max_len=80,
    beam_size=1)
model['region_proposer'].update(
    region_backbone=tiny_densenet, num_tags=num_tags, crop_size=64)
model['encoder'].update(
    num_tags=num_tags,
    d_model=128,
    num_heads=4,
    prior_graph=dict(corpus=train_dataloader['dataset'], normalise='pmi'))
model['decoder'].update(d_model=128, num_heads=4, ffn_dims=256, max_len=96)

optim_wrapper.optimizer.update(lr=5e-4)
train_cfg.update(max_epochs=20, val_interval=2)
param_scheduler = [dict(type=MultiStepLR, by_epoch=True, milestones=[16],
                        gamma=0.1)]
val_evaluator = [
    val_evaluator,
    dict(type=TagAUCMetric),
    dict(type=RegionIoUMetric),
]
test_evaluator = [test_evaluator, dict(type=TagAUCMetric),
                  dict(type=RegionIoUMetric)]
custom_hooks.append(dict(type=MostFrequentReportHook))
