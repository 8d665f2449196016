# Copyright (c) rrgkit contributors. All rights reserved.
# MDNet on the embedded synthetic CT data, sized for 2 CPU cores: a small
# EcNet (depth 20, widen 2) at 64 px, AAS attention over its 4x4 output,
# task duplication over the COV-CTR-style description groups (the synthetic
# reports follow COV-CTR's sentence order), conclusion from the label
# (1 = covid-like findings), beta/eta joint optimisation.
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.synth_ct import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.mdnet_ecnet import *  # noqa: F401,F403
    from .._base_.schedules.adam_20e import *  # noqa: F401,F403

from rrgkit.datasets import SplitReportDataset  # noqa: E402
from rrgkit.engine.hooks import (BetaScheduleHook,  # noqa: E402
                                 MostFrequentReportHook)
from rrgkit.evaluation import DiagnosticAccuracyMetric  # noqa: E402

for _loader in (train_dataloader, val_dataloader, test_dataloader):
    _source = _loader['dataset']
    _loader['dataset'] = dict(
        type=SplitReportDataset,
        report_splitter='covctr_en',
        source={k: v for k, v in _source.items() if k != 'pipeline'},
        pipeline=_source['pipeline'])

model.update(
    backbone=dict(type=EcNet, arch=dict(depth=20, widen_factor=2),
                  stem='imagenet'),
    tokenizer=dict(
        type=ReportTokenizer,
        language='en',
        min_freq=2,
        corpus=train_dataloader['dataset']),
    max_len=40,
    beam_size=1)
model['decoder'].update(num_positions=16, embed_dims=128, hidden_dims=256)
val_evaluator = [
    dict(type=ReportMetric, eval_tokenizer='ptb'),
    dict(type=DiagnosticAccuracyMetric, extractor=dict(preset='covctr_en')),
]
test_evaluator = val_evaluator
train_cfg.update(max_epochs=20, val_interval=2)
param_scheduler = [dict(type=MultiStepLR, by_epoch=True, milestones=[16],
                        gamma=0.1)]
custom_hooks.extend([
    dict(type=BetaScheduleHook, schedule='sigmoid'),
    dict(type=MostFrequentReportHook),
])
