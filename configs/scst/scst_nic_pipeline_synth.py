# Copyright (c) rrgkit contributors. All rights reserved.
# The synthetic NIC: cross-entropy training, then SCST (CIDEr-D reward) from
# the CE stage's best checkpoint on val. Rerunning the command resumes it.
#   python tools/train.py configs/scst/scst_nic_pipeline_synth.py
stages = [
    dict(name='ce',
         config='../nic/nic_densenet_tiny_1xb16_20e_synth.py'),
    dict(name='scst',
         config='scst_nic_densenet_tiny_1xb16_3e_synth.py',
         init_from=['ce']),
]
