# Copyright (c) rrgkit contributors. All rights reserved.
# SimCLR self-supervised pretraining of a ResNet-18 on the COV-CTR training
# images only (576 images, 128 px crops), to initialise report models'
# backbones (docs/selfsup_pretraining.md). mmpretrain's SimCLR, neck, head
# and view transforms; rrgkit's ReportDataset reads the R2Gen annotation.
# `language='english'` keeps one record per image (COV-CTR lists every image
# once per language); `split='train'` with check_ids keeps val/test images
# out. No validation: the weights are judged by the report model they start.
# 15 epochs: about 15 min on 2 idle CPU cores (timing and a shorter schedule:
# docs/selfsup_pretraining.md).
from mmcv.transforms import RandomApply, RandomFlip, Resize
from mmengine.config import read_base
from mmengine.dataset import DefaultSampler, default_collate
from mmengine.optim import CosineAnnealingLR, LinearLR, OptimWrapper
from mmpretrain.datasets import (ColorJitter, GaussianBlur, MultiView,
                                 PackInputs, RandomResizedCrop)
from mmpretrain.models import (ContrastiveHead, CrossEntropyLoss,
                               NonLinearNeck, ResNet, SelfSupDataPreprocessor,
                               SimCLR)
from torch.optim import AdamW

from rrgkit.datasets import CachedTransforms, LoadReportImage
from rrgkit.engine.loops import ResumableEpochBasedTrainLoop

with read_base():
    from .._base_.datasets.covctr_en import covctr, data_root  # noqa: F401
    from .._base_.default_runtime import *  # noqa: F401,F403

image_size = 128
# Images are decoded and resized once (cached on disk, $RRGKIT_CACHE);
# crops of this larger image then come back to `image_size`.
load_size = 160

# The same normalisation as rrgkit's ReportDataPreprocessor (RGB in, ImageNet
# mean/std), so the weights see the inputs they will see in a report model.
data_preprocessor = dict(
    type=SelfSupDataPreprocessor,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=False)

# CT slices are gray: no hue/saturation jitter and no random grayscale.
view_pipeline = [
    dict(type=RandomResizedCrop, scale=image_size, crop_ratio_range=(0.2, 1.0),
         backend='pillow'),
    dict(type=RandomFlip, prob=0.5),
    dict(type=RandomApply,
         transforms=[dict(type=ColorJitter, brightness=0.4, contrast=0.4)],
         prob=0.8),
    dict(type=GaussianBlur, magnitude_range=(0.1, 2.0), magnitude_std='inf',
         prob=0.5),
]
# The cache wraps only the deterministic loading; written out (not
# `cache_images`) so that the random MultiView is never cached.
train_pipeline = [
    dict(type=CachedTransforms,
         transforms=[dict(type=LoadReportImage),
                     dict(type=Resize, scale=(load_size, load_size),
                          keep_ratio=False)],
         cache='disk'),
    dict(type=MultiView, num_views=2, transforms=[view_pipeline]),
    dict(type=PackInputs, meta_keys=('img_id', 'img_path')),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type=DefaultSampler, shuffle=True),
    collate_fn=dict(type=default_collate),
    drop_last=True,
    dataset=dict(**covctr, split='train', pipeline=train_pipeline))
train_dataloader['dataset'].update(cache_images=None, label_key=None)
val_dataloader = val_cfg = val_evaluator = None
test_dataloader = test_cfg = test_evaluator = None

model = dict(
    type=SimCLR,
    data_preprocessor=data_preprocessor,
    backbone=dict(type=ResNet, depth=18, zero_init_residual=True),
    neck=dict(
        type=NonLinearNeck,
        in_channels=512,
        hid_channels=512,
        out_channels=128,
        num_layers=2,
        with_avg_pool=True),
    head=dict(
        type=ContrastiveHead,
        loss=dict(type=CrossEntropyLoss),
        temperature=0.1),
)

max_epochs = 15
optim_wrapper = dict(
    type=OptimWrapper,
    optimizer=dict(type=AdamW, lr=1e-3, weight_decay=1e-4))
param_scheduler = [
    dict(type=LinearLR, start_factor=0.1, by_epoch=True, begin=0, end=2,
         convert_to_iter_based=True),
    dict(type=CosineAnnealingLR, by_epoch=True, begin=2, end=max_epochs,
         T_max=max_epochs - 2, eta_min=1e-5, convert_to_iter_based=True),
]
train_cfg = dict(type=ResumableEpochBasedTrainLoop, max_epochs=max_epochs)

default_hooks.logger.update(interval=3)
default_hooks.checkpoint.update(interval=5, save_best=None, rule=None)
