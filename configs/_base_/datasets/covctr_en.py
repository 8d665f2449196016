# Copyright (c) rrgkit contributors. All rights reserved.
# COV-CTR with English reports (R2Gen-style annotation.json, the file's
# 576/72/72 split). Point data_root at the folder holding annotation.json and
# images/ (e.g. `ln -s ../shared/data/covctr data/covctr`, or --data-root).
from mmcv.transforms import Resize
from mmengine.dataset import DefaultSampler

from rrgkit.datasets import LoadReportImage, PackReportInputs, ReportDataset
from rrgkit.evaluation import ClinicalTagMetric, ReportMetric

data_root = 'data/covctr'
image_size = 224
covctr = dict(
    type=ReportDataset,
    data_root=data_root,
    ann_file='annotation.json',
    data_prefix=dict(img_path='images'),
    language='english',
    label_key='COVID',
    empty_report='skip',
    # Decoded, resized images are cached on disk ($RRGKIT_CACHE/transforms,
    # default ~/.cache/rrgkit/transforms): epochs after the first and later
    # runs do not decode again (tools/analysis/bench_data_loading.py).
    cache_images='disk')

train_pipeline = [
    dict(type=LoadReportImage),
    dict(type=Resize, scale=(image_size, image_size), keep_ratio=False),
    dict(type=PackReportInputs),
]
test_pipeline = train_pipeline

train_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type=DefaultSampler, shuffle=True),
    dataset=dict(**covctr, split='train', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type=DefaultSampler, shuffle=False),
    dataset=dict(**covctr, split='val', pipeline=test_pipeline))
test_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type=DefaultSampler, shuffle=False),
    dataset=dict(**covctr, split='test', pipeline=test_pipeline))

# Clinical efficacy (docs/clinical_efficacy.md): mined tags of the generated
# vs the reference report, plus the COVID conclusion read from the text.
# Without the mined tag file it mines the same vocabulary from the training
# reports of data_root/ann_file.
clinical_efficacy = dict(
    type=ClinicalTagMetric,
    tags_file='data/covctr_tags_en.json',
    data_root=data_root,
    ann_file='annotation.json',
    language='english')
val_evaluator = [dict(type=ReportMetric, eval_tokenizer='ptb'),
                 clinical_efficacy]
test_evaluator = val_evaluator
