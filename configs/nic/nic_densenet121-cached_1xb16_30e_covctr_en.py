# Copyright (c) rrgkit contributors. All rights reserved.
# NIC on COV-CTR English, trained on the cached features of a frozen
# DenseNet-121 at 224 px (docs/feature_cache.md). The backbone runs once per
# image, when the datasets are built (in batches, in the main process); its
# 1024x7x7 maps are stored in $RRGKIT_CACHE/features (~100 KB per image in
# float16) and every epoch after that trains the LSTM only, so 30 epochs at
# 224 px fit a CPU.
#
# The frozen backbone's weights: `backbone_checkpoint` below, e.g. a NIC
# checkpoint trained at 224 px (its `backbone.` weights), or per split:
#   --cfg-options train_dataloader.dataset.feature_cache.checkpoint=X.pth \
#     val_dataloader.dataset.feature_cache.checkpoint=X.pth \
#     test_dataloader.dataset.feature_cache.checkpoint=X.pth
# A bare backbone state dict needs `prefix=''` too (feature_cache.prefix).
from mmengine.config import read_base

with read_base():
    from .nic_densenet121_1xb16_10e_covctr_en import *  # noqa: F401,F403

from rrgkit.models import CachedFeatures  # noqa: E402

backbone_checkpoint = 'checkpoints/nic_densenet121_224px_covctr_en.pth'
image_size = 224
feature_cache = dict(
    backbone=dict(type=DenseNet, arch='121'),
    checkpoint=backbone_checkpoint,
    prefix='backbone.')
for _loader in (train_dataloader, val_dataloader, test_dataloader):
    _loader['dataset']['pipeline'][1]['scale'] = (image_size, image_size)
    _loader['dataset'].pop('cache_images', None)  # features replace images
    _loader['dataset']['feature_cache'] = feature_cache

model['backbone'] = dict(type=CachedFeatures, out_channels=1024)
train_cfg.update(max_epochs=30)
param_scheduler = [dict(type=MultiStepLR, by_epoch=True, milestones=[24],
                        gamma=0.1)]
