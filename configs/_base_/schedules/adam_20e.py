# Copyright (c) rrgkit contributors. All rights reserved.
# Adam with a step decay; epoch-based training with validation every epoch.
from mmengine.optim import MultiStepLR, OptimWrapper
from torch.optim import Adam

from rrgkit.engine.loops import ResumableEpochBasedTrainLoop

optim_wrapper = dict(
    type=OptimWrapper,
    optimizer=dict(type=Adam, lr=1e-3, weight_decay=0.0),
    clip_grad=dict(max_norm=5.0),
)
param_scheduler = [dict(type=MultiStepLR, by_epoch=True, milestones=[15],
                        gamma=0.1)]
# mmengine's EpochBasedTrainLoop, plus an exact --resume from a checkpoint
# saved inside an epoch (docs/reliability.md).
train_cfg = dict(
    type=ResumableEpochBasedTrainLoop, max_epochs=20, val_interval=1)
val_cfg = dict()
test_cfg = dict()
