# Copyright (c) rrgkit contributors. All rights reserved.
# The embedded synthetic chest-CT report dataset (generated on first use into
# the cache folder, $RRGKIT_CACHE or ~/.cache/rrgkit). English reports.
from mmcv.transforms import Resize
from mmengine.dataset import DefaultSampler

from rrgkit.datasets import (LoadReportImage, PackReportInputs,
                             SyntheticCTDataset)
from rrgkit.evaluation import ReportMetric

synth_ct = dict(
    type=SyntheticCTDataset, num_images=2000, image_size=128, seed=0)
image_size = 64

train_pipeline = [
    dict(type=LoadReportImage),
    dict(type=Resize, scale=(image_size, image_size), keep_ratio=False),
    dict(type=PackReportInputs),
]
test_pipeline = train_pipeline

train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type=DefaultSampler, shuffle=True),
    dataset=dict(**synth_ct, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type=DefaultSampler, shuffle=False),
    dataset=dict(**synth_ct, split='val', pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=32,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type=DefaultSampler, shuffle=False),
    dataset=dict(**synth_ct, split='test', pipeline=test_pipeline))

# PTB tokenization (Java) as in the COCO caption evaluation. Validation after
# every epoch skips METEOR (its Java start-up costs ~8 s on 2 cores); the test
# evaluation computes all metrics.
val_evaluator = dict(
    type=ReportMetric,
    eval_tokenizer='ptb',
    scores=('BLEU', 'ROUGE_L', 'CIDEr'))
test_evaluator = dict(type=ReportMetric, eval_tokenizer='ptb')
