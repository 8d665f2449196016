# Copyright (c) rrgkit contributors. All rights reserved.
# Supervised visual pretraining on COV-CTR English (docs/visual_features.md):
# a ResNet-18 from scratch predicts the mined tags and the COVID conclusion
# from 128 px crops with strong augmentation (random resized crop, flip,
# brightness/contrast jitter), AdamW with a one-cycle schedule, 40 epochs.
# The last checkpoint's ``backbone.`` weights initialise the report models;
# tools/analysis/probe_features.py measures what the features carry.
from mmcv.transforms import CenterCrop, RandomFlip, Resize
from mmengine.config import read_base
from mmengine.optim import OneCycleLR, OptimWrapper
from torch.optim import AdamW

with read_base():
    from .._base_.datasets.covctr_en_tags import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.schedules.adam_20e import *  # noqa: F401,F403

from rrgkit.datasets import LoadReportImage, PackReportInputs  # noqa: E402
from rrgkit.evaluation import LabelAUCMetric  # noqa: E402
from rrgkit.models.generators import FindingClassifier  # noqa: E402

image_size = 128
max_epochs = 40
batch_size = 32

train_pipeline = [
    dict(type=LoadReportImage),
    # Cached on disk (cache_images); the random stages below run each epoch.
    dict(type=Resize, scale=(image_size * 9 // 8, ) * 2, keep_ratio=False),
    dict(type='mmpretrain.RandomResizedCrop', scale=image_size,
         crop_ratio_range=(0.5, 1.0), aspect_ratio_range=(0.8, 1.25)),
    dict(type=RandomFlip, prob=0.5, direction='horizontal'),
    dict(type='mmpretrain.ColorJitter', brightness=0.4, contrast=0.4),
    dict(type=PackReportInputs),
]
test_pipeline = [
    dict(type=LoadReportImage),
    dict(type=Resize, scale=(image_size * 9 // 8, ) * 2, keep_ratio=False),
    dict(type=CenterCrop, crop_size=image_size),
    dict(type=PackReportInputs),
]
train_dataloader.update(batch_size=batch_size)
train_dataloader['dataset']['pipeline'] = train_pipeline
for _loader in (val_dataloader, test_dataloader):
    _loader['dataset']['pipeline'] = test_pipeline
    _loader.update(batch_size=batch_size)

model = dict(
    type=FindingClassifier,
    backbone=dict(type='mmpretrain.ResNet', depth=18, out_indices=(3, )),
    num_tags=num_tags,
    num_classes=2,
    dropout=0.2)

optim_wrapper = dict(
    type=OptimWrapper,
    optimizer=dict(type=AdamW, lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=5.0))
param_scheduler = [
    dict(type=OneCycleLR, eta_max=2e-3, total_steps=max_epochs * 18,
         pct_start=0.15, by_epoch=False)
]
train_cfg.update(max_epochs=max_epochs, val_interval=10)
val_evaluator = [dict(type=LabelAUCMetric), dict(type=TagAUCMetric)]
test_evaluator = val_evaluator
# No selection on val: the last epoch's weights are the recipe's output.
default_hooks['checkpoint'].update(save_best=None, interval=10,
                                   max_keep_ckpts=1)
custom_hooks = [h for h in custom_hooks
                if h['type'].__name__ != 'RichProgressHook']
