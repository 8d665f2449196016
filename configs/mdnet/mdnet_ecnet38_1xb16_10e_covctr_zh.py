# Copyright (c) rrgkit contributors. All rights reserved.
# MDNet on COV-CTR Chinese reports (character tokens, per-character scoring,
# the Chinese description groups and conclusion templates).
from mmengine.config import read_base

with read_base():
    from .mdnet_ecnet38_1xb16_10e_covctr_en import *  # noqa: F401,F403

for _loader in (train_dataloader, val_dataloader, test_dataloader):
    _loader['dataset'].update(language='chinese', report_splitter='covctr_zh')
model.update(
    tokenizer=dict(
        type=ReportTokenizer,
        language='zh',
        zh_mode='char',
        min_freq=3,
        corpus=train_dataloader['dataset']),
    max_len=60)
val_evaluator = [
    dict(type=ReportMetric, eval_tokenizer='char'),
    dict(type=DiagnosticAccuracyMetric, extractor=dict(preset='covctr_zh')),
    dict(clinical_efficacy, tags_file='data/covctr_tags_zh.json',
         language='chinese'),
]
test_evaluator = val_evaluator
