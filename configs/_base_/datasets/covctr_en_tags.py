# Copyright (c) rrgkit contributors. All rights reserved.
# COV-CTR English with mined medical tags. Mine them first (deterministic):
#   python tools/dataset_converters/mine_tags.py data/covctr/annotation.json \
#       --language english --out data/covctr_tags_en.json
from mmengine.config import read_base

with read_base():
    from .covctr_en import *  # noqa: F401,F403

from rrgkit.evaluation import TagAUCMetric  # noqa: E402

tags_file = 'data/covctr_tags_en.json'
num_tags = 61  # the tags in tags_file (61 mined from the English train split)
for _loader in (train_dataloader, val_dataloader, test_dataloader):
    _loader['dataset']['tags_file'] = tags_file
val_evaluator = [*val_evaluator, dict(type=TagAUCMetric)]
test_evaluator = val_evaluator
