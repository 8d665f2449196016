# Copyright (c) rrgkit contributors. All rights reserved.
# ASGK "+IA" (Table 2) on COV-CTR English, trained jointly in one stage:
# CAM-threshold region crops + fusion (tags with focal loss), medical tag
# graph (prior: tag co-occurrence of the training split), GPT decoder.
# CPU schedule: 128 px images and crops, 10 epochs. Paper: 224 px; visual
# lr 1e-5 and ASGK lr 5e-4 with Adam after the DenseNet pretraining stage
# (see asgk_covctr.py for the staged pipeline).
from mmengine.config import read_base

with read_base():
    from .._base_.datasets.covctr_en_tags import *  # noqa: F401,F403
    from .._base_.default_runtime import *  # noqa: F401,F403
    from .._base_.models.asgk_densenet121 import *  # noqa: F401,F403
    from .._base_.schedules.adam_20e import *  # noqa: F401,F403

from rrgkit.datasets.textbook_dataset import (PackTextInputs,  # noqa: E402
                                              TextbookDataset)
from rrgkit.engine.hooks import MostFrequentReportHook  # noqa: E402

# External medical text (ASGK's textbook), read from data/textbook
# (e.g. `ln -s ../shared/data/textbook data/textbook`). Its training
# sentences join the training reports in the vocabulary of every ASGK
# COV-CTR config, so the textbook-pretrained decoder (stage 1) and the
# report model share one vocabulary.
textbook = dict(
    type=TextbookDataset,
    data_root='data/textbook',
    ann_file='medquad_thoracic_en.json',
    language='en',
    pipeline=[dict(type=PackTextInputs)])

image_size = 128
for _loader in (train_dataloader, val_dataloader, test_dataloader):
    _loader['dataset']['pipeline'][1]['scale'] = (image_size, image_size)

model.update(
    tokenizer=dict(
        type=ReportTokenizer,
        language='en',
        min_freq=3,
        corpus=[train_dataloader['dataset'],
                dict(**textbook, split='train')]))
model['region_proposer'].update(num_tags=num_tags, crop_size=image_size)
model['encoder'].update(
    num_tags=num_tags,
    prior_graph=dict(corpus=train_dataloader['dataset'], normalise='pmi'))

optim_wrapper.optimizer.update(lr=5e-4)
train_cfg.update(max_epochs=10)
param_scheduler = [dict(type=MultiStepLR, by_epoch=True, milestones=[8],
                        gamma=0.1)]
custom_hooks.append(dict(type=MostFrequentReportHook))
