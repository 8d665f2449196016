# Copyright (c) rrgkit contributors. All rights reserved.
# ASGK on synthetic data in stages: (2) the two DenseNets on tags, then
# (3) the whole network starting from them. The textbook stage (1) needs the
# external medical text and lives in the COV-CTR pipeline.
#   python tools/train.py configs/asgk/asgk_pipeline_densenet_tiny_synth.py
stages = [
    dict(name='visual', config='asgk_stage2_densenet_tiny_1xb16_10e_synth.py'),
    dict(name='full', config='asgk_densenet_tiny_1xb16_20e_synth.py',
         init_from=['visual']),
]
