# Copyright (c) rrgkit contributors. All rights reserved.
# SCST fine-tuning of Show, Attend and Tell on COV-CTR English with a CIDEr-D
# reward, after its cross-entropy training
# (sat/sat_densenet121_1xb16_10e_covctr_en.py). Five reports are sampled per
# image, each against the mean reward of the other four (Luo 2020); Adam at
# 5e-5 for 3 epochs. Train both stages with the pipeline:
#   python tools/train.py configs/scst/scst_sat_pipeline_covctr_en.py
# or train this config from a finished CE run, adding
#   --cfg-options load_from=<CE work dir>/best_report_CIDEr-D_epoch_N.pth
# Checkpoints hold the plain generator's weights: tools/test.py takes this
# config or the CE one. See docs/scst.md.
from mmengine.config import read_base

with read_base():
    from ..sat.sat_densenet121_1xb16_10e_covctr_en import *  # noqa: F401,F403
    from .._base_.schedules.scst_adam_3e import *  # noqa: F401,F403

from rrgkit.evaluation.rewards import CIDErDReward  # noqa: E402
from rrgkit.models import SCSTGenerator  # noqa: E402

model = dict(
    type=SCSTGenerator,
    generator=model,
    # CIDEr-D's document frequencies: the training references.
    corpus=train_dataloader['dataset'],
    reward_cfg=dict(
        cider=dict(type=CIDErDReward, eval_tokenizer='whitespace')),
    num_samples=5,
    baseline='mean')
