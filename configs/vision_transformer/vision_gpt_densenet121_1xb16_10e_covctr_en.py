# Copyright (c) rrgkit contributors. All rights reserved.
# Vision-GPT (a baseline row of the ASGK paper's table): DenseNet-121 ->
# medical tag graph -> GPT-style decoder (pre-LN, 3 blocks), no auxiliary
# signal. The ASGK "Baseline" ablation with the vocabulary of the training
# reports alone (as NIC, SAT, AdaAtt, CoAtt and R2Gen), not the ASGK configs'
# joint report + textbook vocabulary. COV-CTR English, 128 px, 10 epochs.
from mmengine.config import read_base

with read_base():
    from ..asgk.asgk_baseline_densenet121_1xb16_10e_covctr_en import *  # noqa: F401,F403,E501

model['tokenizer'] = dict(
    type=ReportTokenizer,
    language='en',
    min_freq=3,
    corpus=train_dataloader['dataset'])
