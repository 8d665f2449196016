# Copyright (c) rrgkit contributors. All rights reserved.
# SimCLR pretraining of the DenseNet-121 that the COV-CTR report configs use
# (mmpretrain DenseNet arch='121', e.g. R2Gen at 128 px), so its weights fit
# those configs unchanged. Same data, views and optimiser as the ResNet-18
# config; 5 epochs are about 15 min on 2 idle CPU cores
# (docs/selfsup_pretraining.md).
from mmengine.config import read_base
from mmpretrain.models import DenseNet

with read_base():
    from .simclr_resnet18_1xb64_15e_128px_covctr_en import *  # noqa: F401,F403

train_dataloader.update(batch_size=32)
# Assigned, not update()d: ConfigDict.update would merge in ResNet's keys.
model['backbone'] = dict(type=DenseNet, arch='121')
model.neck.update(in_channels=1024, hid_channels=1024)

max_epochs = 5
param_scheduler = [
    dict(type=LinearLR, start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type=CosineAnnealingLR, by_epoch=True, begin=1, end=max_epochs,
         T_max=max_epochs - 1, eta_min=1e-5, convert_to_iter_based=True),
]
train_cfg.update(max_epochs=max_epochs)
default_hooks.checkpoint.update(interval=2)
