# Copyright (c) rrgkit contributors. All rights reserved.
# ASGK "+IA" on COV-CTR Chinese reports (the paper's setting: Chinese
# findings), character tokens, scored per character. The Chinese textbook is
# the COVID-19 diagnosis and treatment protocol (OCR text) in data/textbook.
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.covctr_zh_tags import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.asgk_densenet121 import *  # noqa: F401,F403
    from .._base_.schedules.adam_20e import *  # noqa: F401,F403

from rrgkit.datasets.textbook_dataset import (PackTextInputs,  # noqa: E402
                                              TextbookDataset)
from rrgkit.engine.hooks import MostFrequentReportHook  # noqa: E402

textbook = dict(
    type=TextbookDataset,
    data_root='data/textbook',
    ann_file='covid19_diagnosis_treatment_protocol_v7_zh_ocr.txt',
    language='zh',
    pipeline=[dict(type=PackTextInputs)])
image_size = 128
for _loader in (train_dataloader, val_dataloader, test_dataloader):
    _loader['dataset']['pipeline'][1]['scale'] = (image_size, image_size)

model.update(
    tokenizer=dict(
        type=ReportTokenizer,
        language='zh',
        zh_mode='char',
        min_freq=3,
        corpus=[train_dataloader['dataset'],
                dict(**textbook, split='train')]),
    max_len=120)
model['region_proposer'].update(num_tags=num_tags, crop_size=image_size)
model['encoder'].update(
    num_tags=num_tags,
    prior_graph=dict(corpus=train_dataloader['dataset'], normalise='pmi'))
model['decoder'].update(max_len=160)
optim_wrapper.optimizer.update(lr=5e-4)
train_cfg.update(max_epochs=10)
param_scheduler = [dict(type=MultiStepLR, by_epoch=True, milestones=[8],
                        gamma=0.1)]
custom_hooks.append(dict(type=MostFrequentReportHook))
