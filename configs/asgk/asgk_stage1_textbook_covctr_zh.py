# Copyright (c) rrgkit contributors. All rights reserved.
# ASGK stage 1, the external auxiliary signal: the GPT decoder learns to
# rebuild textbook sentences from their single-layer GRU (1024) encoding.
# Chinese medical text (the COVID-19 protocol, OCR) read from data/textbook
# (e.g. `ln -s ../shared/data/textbook data/textbook`). The vocabulary is
# the one of all ASGK COV-CTR configs (training reports + textbook
# training sentences), so stage 3 reuses the decoder. Paper: Adam 5e-4,
# max length 300, embedding 300.
from mmengine.config import read_base

with read_base():
    from .asgk_ia_densenet121_1xb16_10e_covctr_zh import *  # noqa: F401,F403

from rrgkit.models.generators.textbook_pretrainer import \
    TextbookPretrainer  # noqa: E402

model = dict(
    type=TextbookPretrainer,
    decoder=model['decoder'],
    tokenizer=model['tokenizer'],
    embed_dims=300,
    gru_hidden=1024,
    memory_channels=model['encoder']['d_model'],
    max_len=128)
train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    sampler=dict(type=DefaultSampler, shuffle=True),
    dataset=dict(**textbook, split='train'))
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    sampler=dict(type=DefaultSampler, shuffle=False),
    dataset=dict(**textbook, split='val'))
test_dataloader = val_dataloader
val_evaluator = dict(type=ReportMetric, eval_tokenizer='char',
                     scores=('BLEU', 'ROUGE_L', 'CIDEr'))
test_evaluator = val_evaluator
optim_wrapper.optimizer.update(lr=5e-4)
train_cfg.update(max_epochs=3, val_interval=1)
param_scheduler = []
custom_hooks = [h for h in custom_hooks
                if h['type'] is not MostFrequentReportHook]
