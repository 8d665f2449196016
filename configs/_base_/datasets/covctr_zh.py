# Copyright (c) rrgkit contributors. All rights reserved.
# COV-CTR with Chinese reports: the English dataset settings with the
# 'chinese' records, scored per character (eval_tokenizer='char'; use
# 'jieba' for word-level scoring). The tokenization used is recorded in
# metrics.json by tools/test.py.
from mmengine.config import read_base

with read_base():
    from .covctr_en import *  # noqa: F401,F403

for _loader in (train_dataloader, val_dataloader, test_dataloader):
    _loader['dataset']['language'] = 'chinese'
clinical_efficacy = dict(clinical_efficacy,
                         tags_file='data/covctr_tags_zh.json',
                         language='chinese')
val_evaluator = [dict(type=ReportMetric, eval_tokenizer='char'),
                 clinical_efficacy]
test_evaluator = val_evaluator
