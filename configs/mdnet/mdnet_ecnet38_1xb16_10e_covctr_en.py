# Copyright (c) rrgkit contributors. All rights reserved.
# MDNet on COV-CTR English reports, "joint" row: EcNet-38-8 from scratch,
# AAS attention, task duplication over 4 description groups (thorax and
# mediastinum, lungs, bronchi, pleura) plus a conclusion written from the
# COVID label (report_splitter='covctr_en'), beta rising from 0 to 1 on a
# sigmoid schedule with eta = 5 (eq. 12). Val/test report BLEU..CIDEr-D and
# clinical efficacy on the joined findings descriptions, DCA from the
# generated conclusion.
# CPU schedule: 128 px, 10 epochs.
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.covctr_en import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.mdnet_ecnet import *  # noqa: F401,F403
    from .._base_.schedules.adam_20e import *  # noqa: F401,F403

from rrgkit.datasets import SplitReportDataset  # noqa: E402
from rrgkit.engine.hooks import (BetaScheduleHook,  # noqa: E402
                                 MostFrequentReportHook)
from rrgkit.evaluation import DiagnosticAccuracyMetric  # noqa: E402

image_size = 128
for _loader in (train_dataloader, val_dataloader, test_dataloader):
    _loader['dataset']['pipeline'][1]['scale'] = (image_size, image_size)
    _loader['dataset'].update(type=SplitReportDataset,
                              report_splitter='covctr_en')

model.update(
    tokenizer=dict(
        type=ReportTokenizer,
        language='en',
        min_freq=3,
        corpus=train_dataloader['dataset']))
val_evaluator = [
    dict(type=ReportMetric, eval_tokenizer='ptb'),
    dict(type=DiagnosticAccuracyMetric, extractor=dict(preset='covctr_en')),
    clinical_efficacy,
]
test_evaluator = val_evaluator
train_cfg.update(max_epochs=10)
param_scheduler = [dict(type=MultiStepLR, by_epoch=True, milestones=[8],
                        gamma=0.1)]
custom_hooks.extend([
    dict(type=BetaScheduleHook, schedule='sigmoid'),
    dict(type=MostFrequentReportHook),
])
