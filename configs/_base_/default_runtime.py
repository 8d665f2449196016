# Copyright (c) rrgkit contributors. All rights reserved.
# Runtime settings shared by all rrgkit configs.
from mmengine.hooks import (DistSamplerSeedHook, IterTimerHook, LoggerHook,
                            ParamSchedulerHook)
from mmengine.visualization import LocalVisBackend, Visualizer

from rrgkit.engine.hooks import (AtomicCheckpointHook, ChannelsLastHook,
                                 CheckpointGuardHook, FiniteLossHook,
                                 ResumeStateHook, RichProgressHook)

default_scope = 'rrgkit'

default_hooks = dict(
    timer=dict(type=IterTimerHook),
    logger=dict(type=LoggerHook, interval=20),
    param_scheduler=dict(type=ParamSchedulerHook),
    # The best checkpoint is chosen on the validation split only.
    # AtomicCheckpointHook: mmengine's, safe to crash in (docs/reliability.md).
    checkpoint=dict(
        type=AtomicCheckpointHook,
        interval=1,
        max_keep_ckpts=2,
        save_best='report/CIDEr-D',
        rule='greater'),
    sampler_seed=dict(type=DistSamplerSeedHook),
)
# ChannelsLastHook: channels-last convolution weights, faster on CPU
# (tools/analysis/bench_backbone_flops.py; docs/benchmarks.md).
# RichProgressHook: a progress bar over report generation (val and test).
# FiniteLossHook: stop on a NaN/inf loss before the step is checkpointed.
# ResumeStateHook: random streams and loop position in checkpoints, for an
# exact --resume (docs/reliability.md).
custom_hooks = [
    dict(type=CheckpointGuardHook),
    dict(type=ResumeStateHook),
    dict(type=FiniteLossHook),
    dict(type=RichProgressHook),
    dict(type=ChannelsLastHook),
]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type=LocalVisBackend)]
visualizer = dict(type=Visualizer, vis_backends=vis_backends)

log_processor = dict(by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
