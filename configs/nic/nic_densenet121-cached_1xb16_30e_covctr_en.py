# Copyright (c) rrgkit contributors. All rights reserved.
# NIC on COV-CTR English, trained on the cached features of a frozen
# DenseNet-121 at 224 px (docs/feature_cache.md). The backbone runs once per
# image, when the datasets are built (in batches, in the main process); its
# 1024x7x7 maps are stored in $RRGKIT_CACHE/features (~100 KB per image in
# float16) and every epoch after that trains the LSTM only, so 30 epochs at
# 224 px fit a CPU.
#
# `cached_features` (rrgkit/utils/cached_features_cfg.py) does the rewrite:
# every split's dataset gets feature_cache with the model's own backbone
# (DenseNet-121) frozen at `checkpoint`, Resize gets 224 px and the model's
# backbone becomes CachedFeatures. The frozen weights: `checkpoint` below,
# e.g. a NIC checkpoint trained at 224 px (its `backbone.` weights), or
#   --cfg-options cached_features.checkpoint=X.pth
# A bare backbone state dict needs cached_features.prefix= (empty) too.
from mmengine.config import read_base

with read_base():
    from .nic_densenet121_1xb16_10e_covctr_en import *  # noqa: F401,F403

cached_features = dict(
    checkpoint='checkpoints/nic_densenet121_224px_covctr_en.pth',
    prefix='backbone.',
    out_channels=1024,
    image_size=224)
train_cfg.update(max_epochs=30)
param_scheduler = [dict(type=MultiStepLR, by_epoch=True, milestones=[24],
                        gamma=0.1)]
