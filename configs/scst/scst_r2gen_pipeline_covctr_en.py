# Copyright (c) rrgkit contributors. All rights reserved.
# R2Gen on COV-CTR English: cross-entropy training, then SCST (CIDEr-D reward)
# from the CE stage's best checkpoint on val. Rerunning the command resumes
# it.
#   python tools/train.py configs/scst/scst_r2gen_pipeline_covctr_en.py
stages = [
    dict(name='ce',
         config='../r2gen/r2gen_densenet121_1xb16_10e_covctr_en.py'),
    dict(name='scst',
         config='scst_r2gen_densenet121_1xb16_3e_covctr_en.py',
         init_from=['ce']),
]
