# Copyright (c) rrgkit contributors. All rights reserved.
# Vision-GPT on the synthetic CT data: the ASGK synthetic config without the
# CAM-threshold region branch (tag graph + GPT decoder only).
from mmengine.config import read_base

with read_base():
    from ..asgk.asgk_densenet_tiny_1xb16_20e_synth import *  # noqa: F401,F403

model['region_proposer'] = None
val_evaluator = [m for m in val_evaluator
                 if m['type'] is not RegionIoUMetric]
test_evaluator = [m for m in test_evaluator
                  if m['type'] is not RegionIoUMetric]
