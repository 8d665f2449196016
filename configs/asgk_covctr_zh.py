# Copyright (c) rrgkit contributors. All rights reserved.
# ASGK (+IA +EA) on COV-CTR Chinese reports (the paper's setting), 3 stages:
#   python tools/train.py configs/asgk_covctr_zh.py
# (1) textbook pretraining of the decoder, (2) joint pretraining of the two
# DenseNets on the mined tags, (3) the whole network from both. Rerun the
# same command to resume. Needs data/covctr, data/textbook and the mined
# tags data/covctr_tags_zh.json (see docs/asgk.md).
stages = [
    dict(name='textbook', config='asgk/asgk_stage1_textbook_covctr_zh.py'),
    dict(name='visual',
         config='asgk/asgk_stage2_densenet121_1xb16_10e_covctr_zh.py'),
    dict(name='full',
         config='asgk/asgk_stage3_densenet121_1xb16_10e_covctr_zh.py',
         init_from=['visual', 'textbook']),
]
