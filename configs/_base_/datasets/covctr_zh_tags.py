# Copyright (c) rrgkit contributors. All rights reserved.
# COV-CTR Chinese with mined medical tags (scored per character). Mine them:
#   python tools/dataset_converters/mine_tags.py data/covctr/annotation.json \
#       --language chinese --out data/covctr_tags_zh.json
from mmengine.config import read_base

with read_base():
    from .covctr_zh import *  # noqa: F401,F403

from rrgkit.evaluation import TagAUCMetric  # noqa: E402

tags_file = 'data/covctr_tags_zh.json'
num_tags = 63  # the tags in tags_file (63 mined from the Chinese train split)
for _loader in (train_dataloader, val_dataloader, test_dataloader):
    _loader['dataset']['tags_file'] = tags_file
val_evaluator = [*val_evaluator, dict(type=TagAUCMetric)]
test_evaluator = val_evaluator
