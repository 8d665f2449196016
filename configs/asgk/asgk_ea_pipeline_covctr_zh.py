# Copyright (c) rrgkit contributors. All rights reserved.
# ASGK ablation "+EA" (Table 2): textbook-pretrained decoder, no internal
# auxiliary signal (no region crops).
stages = [
    dict(name='textbook', config='asgk_stage1_textbook_covctr_zh.py'),
    dict(name='ea',
         config='asgk_baseline_densenet121_1xb16_10e_covctr_zh.py',
         init_from=['textbook']),
]
