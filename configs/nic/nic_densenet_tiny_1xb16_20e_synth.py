# Copyright (c) rrgkit contributors. All rights reserved.
# NIC on the embedded synthetic CT dataset: a small DenseNet trained from
# scratch at 64 px + LSTM. Meant to finish in minutes on 2 CPU cores.
# The image vector is fed at every step (feed_image='every_step'): with the
# paper's first-step-only feeding, a from-scratch CNN on this budget collapses
# to the most frequent training report (see docs/get_started.md).
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.synth_ct import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.nic_densenet121 import *  # noqa: F401,F403
    from .._base_.schedules.adam_20e import *  # noqa: F401,F403

from rrgkit.engine.hooks import MostFrequentReportHook  # noqa: E402

model.update(
    backbone=dict(
        type=DenseNet,
        arch=dict(growth_rate=16, depths=[3, 4, 4], init_channels=32)),
    decoder=dict(
        type=LSTMDecoder,
        embed_dims=128,
        hidden_dims=256,
        dropout=0.2,
        feed_image='every_step'),
    tokenizer=dict(
        type=ReportTokenizer,
        language='en',
        min_freq=2,
        corpus=train_dataloader['dataset']),
    max_len=80,
    beam_size=1,
)
optim_wrapper.optimizer.update(lr=2e-3)
train_cfg.update(max_epochs=20, val_interval=2)
param_scheduler = [dict(type=MultiStepLR, by_epoch=True, milestones=[16],
                        gamma=0.1)]
custom_hooks.append(dict(type=MostFrequentReportHook))
