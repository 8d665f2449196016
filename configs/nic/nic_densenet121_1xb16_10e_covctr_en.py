# Copyright (c) rrgkit contributors. All rights reserved.
# NIC on COV-CTR English reports: DenseNet-121 (from scratch: nothing is
# downloaded) + LSTM. CPU schedule: 128 px, 10 epochs (~1 min/epoch on 2
# cores). For the paper-like setting use image_size 224 and more epochs:
#   --cfg-options train_cfg.max_epochs=50
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.covctr_en import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.nic_densenet121 import *  # noqa: F401,F403
    from .._base_.schedules.adam_20e import *  # noqa: F401,F403

from rrgkit.engine.hooks import MostFrequentReportHook  # noqa: E402

image_size = 128
for _loader in (train_dataloader, val_dataloader, test_dataloader):
    _loader['dataset']['pipeline'][1]['scale'] = (image_size, image_size)

model.update(
    tokenizer=dict(
        type=ReportTokenizer,
        language='en',
        min_freq=3,
        corpus=train_dataloader['dataset']))
train_cfg.update(max_epochs=10)
param_scheduler = [dict(type=MultiStepLR, by_epoch=True, milestones=[8],
                        gamma=0.1)]
custom_hooks.append(dict(type=MostFrequentReportHook))
