# Copyright (c) rrgkit contributors. All rights reserved.
# Self-critical sequence training (SCST) after cross-entropy training: Adam
# at a small constant learning rate (5e-5, as Rennie et al. 2017), 3 epochs,
# validation every epoch, gradients clipped as in the CE schedule. Import it
# after the CE config: it replaces optim_wrapper (any paramwise_cfg of the CE
# config included), param_scheduler and train_cfg.
from mmengine.optim import OptimWrapper
from torch.optim import Adam

from rrgkit.engine.loops import ResumableEpochBasedTrainLoop

optim_wrapper = dict(
    type=OptimWrapper,
    optimizer=dict(type=Adam, lr=5e-5, weight_decay=0.0),
    clip_grad=dict(max_norm=5.0),
)
param_scheduler = []
train_cfg = dict(
    type=ResumableEpochBasedTrainLoop, max_epochs=3, val_interval=1)
